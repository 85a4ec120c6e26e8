import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClient, queryString } from './client.ts';
import { KubeApiError, statusFromBody } from './errors.ts';

describe('KubeClient construction', () => {
  const refused: [string, ConstructorParameters<typeof KubeClient>[0]][] = [
    ['a server that is not a URL', { endpoint: { server: 'kubernetes' } }],
    ['a server with a query', { endpoint: { server: 'https://k:6443/?x=1' } }],
    ['a server with credentials', { endpoint: { server: 'https://user:pw@k:6443' } }],
    ['an ftp server', { endpoint: { server: 'ftp://k' } }],
    ['a token with a newline (header injection)', { endpoint: { server: 'https://k:6443', token: 'a\nb' } }],
    ['a CA that is not PEM', { endpoint: { server: 'https://k:6443', caPem: 'not a cert' } }],
    ['plain http with a dialer (TLS must run over the tunnel)', { endpoint: { server: 'http://k:80', dial: () => Promise.reject(new Error('x')) } }],
    ['a negative timeout', { endpoint: { server: 'https://k:6443' }, requestTimeoutMs: -1 }],
    ['zero connections', { endpoint: { server: 'https://k:6443' }, maxConnections: 0 }],
  ];
  for (const [what, options] of refused) {
    it(`refuses ${what}`, () => assert.throws(() => new KubeClient(options), (e: Error & { code?: string }) => e.code === 'DRV_ERR_INVALID_ARGUMENT'));
  }

  it('refuses a token function that returns a multi-line value, before sending anything', async () => {
    const client = new KubeClient({ endpoint: { server: 'https://127.0.0.1:1', token: () => 'a\r\nX-Evil: 1' } });
    await assert.rejects(client.get('/version'), /single-line token/);
    await client.close();
  });

  it('refuses force on anything but server-side apply, and apply without a field manager', async () => {
    const client = new KubeClient({ endpoint: { server: 'https://127.0.0.1:1' } });
    assert.throws(() => void client.patch('/api/v1/namespaces/x', {}, { type: 'merge', force: true }), /force/);
    assert.throws(() => void client.patch('/api/v1/namespaces/x', {}, { type: 'apply' }), /fieldManager/);
    await client.close();
  });
});

describe('queryString', () => {
  it('skips undefined values, repeats arrays and encodes selectors', () => {
    assert.equal(queryString({ a: undefined, labelSelector: 'app in (a,b)', dryRun: ['All'], limit: 5, watch: true }),
      '?labelSelector=app+in+%28a%2Cb%29&dryRun=All&limit=5&watch=true');
    assert.equal(queryString({}), '');
  });
});

describe('KubeApiError', () => {
  it('keeps the Kubernetes status and reason, and never exposes the downstream message', () => {
    const err = new KubeApiError(404, statusFromBody(404, '{"kind":"Status","reason":"NotFound","message":"x not found","details":{"name":"x"}}'), 'GET /x');
    assert.equal(err.status, 404);
    assert.equal(err.reason, 'NotFound');
    assert.equal(err.details?.name, 'x');
    assert.equal(err.code, 'DRV_ERR_KUBE_API');
    assert.equal(err.expose, false);
  });

  it('turns a body that is not a Status (a proxy page) into one with a short message', () => {
    const status = statusFromBody(502, '<html>bad gateway</html>');
    assert.equal(status.code, 502);
    assert.equal(status.message, '<html>bad gateway</html>');
  });
});
