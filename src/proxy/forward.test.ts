import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SANDBOX_POLICY, responseHeaders } from './forward.ts';

const at = { proxyPrefix: '/k8s/clusters/c-1', upstreamOrigin: 'https://10.0.0.1:6443', downstreamPath: '/api/v1/namespaces/default/pods/p/proxy' };

describe('responseHeaders (what a downstream answer may carry to Drover\'s origin)', () => {
  it('drops Set-Cookie in any form, so a pod cannot plant or overwrite Drover\'s session cookies', () => {
    const out = responseHeaders({ 'set-cookie': ['drover_session=attacker; Path=/', 'csrf=x'], 'content-type': 'text/html' }, at);
    assert.equal(out['set-cookie'], undefined);
    assert.equal(out['content-type'], 'text/html');
  });

  it('marks every answer nosniff and sandboxes it into an opaque origin', () => {
    const out = responseHeaders({ 'content-type': 'application/json' }, at);
    assert.equal(out['x-content-type-options'], 'nosniff');
    assert.equal(out['content-security-policy'], SANDBOX_POLICY);
    assert.doesNotMatch(SANDBOX_POLICY, /allow-same-origin/);
  });

  it('keeps a pod\'s own CSP and adds the sandbox, so the pod can only narrow it', () => {
    const out = responseHeaders({ 'content-security-policy': "default-src 'self'" }, at);
    assert.equal(out['content-security-policy'], `default-src 'self', ${SANDBOX_POLICY}`);
  });

  it('overrides a downstream nosniff-off attempt', () => {
    assert.equal(responseHeaders({ 'x-content-type-options': 'sniff-please' }, at)['x-content-type-options'], 'nosniff');
  });

  it('drops hop-by-hop headers, including those the upstream lists in Connection', () => {
    const out = responseHeaders({
      connection: 'close, X-Upstream-Secret', 'keep-alive': 'timeout=5', 'x-upstream-secret': 'internal', 'transfer-encoding': 'chunked',
      'audit-id': 'a-1',
    }, at);
    assert.deepEqual(Object.keys(out).sort(), ['audit-id', 'content-security-policy', 'x-content-type-options']);
  });

  it('rewrites a same-apiserver Location and drops a foreign one', () => {
    assert.equal(responseHeaders({ location: 'https://10.0.0.1:6443/api/v1/x?y=1' }, at).location, '/k8s/clusters/c-1/api/v1/x?y=1');
    assert.equal(responseHeaders({ location: 'https://evil.example/steal' }, at).location, undefined);
  });
});
