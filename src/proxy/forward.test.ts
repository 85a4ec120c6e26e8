import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { DroverError } from '../errors/index.ts';
import { SANDBOX_POLICY, assertOnlyOurIdentity, downstreamFailure, forwardRequest, responseHeaders, rewriteLocation } from './forward.ts';
import type { EndStream } from './open-streams.ts';

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

describe('assertOnlyOurIdentity (the last check before a request leaves)', () => {
  const ours = new Set(['impersonate-user', 'impersonate-group', 'authorization']);
  it('lets our own identity headers and ordinary ones through', () => {
    assertOnlyOurIdentity([['Authorization', 'Bearer ours'], ['impersonate-user', 'u-1'], ['Impersonate-Group', 'g'], ['accept', '*/*']], ours);
  });

  for (const name of ['Cookie', 'IMPERSONATE-UID', 'impersonate-extra-scopes', 'X-Remote-User', 'x-remote-group']) {
    it(`refuses a caller's ${name} header with a plain 500`, () => {
      assert.throws(() => assertOnlyOurIdentity([['accept', '*/*'], [name, 'x']], ours), (e: unknown) => e instanceof DroverError
        && e.code === 'DRV_ERR_INTERNAL' && e.message === `refusing to forward caller identity header ${name.toLowerCase()}`);
    });
  }

  it('refuses an Authorization header that is not ours', () => {
    assert.throws(() => assertOnlyOurIdentity([['authorization', 'Bearer caller']], new Set(['impersonate-user'])), /authorization/);
  });
});

describe('downstreamFailure (what the caller is told when the cluster fails)', () => {
  it('turns a headers timeout into a 504 naming the cluster and the bound', () => {
    for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'DRV_ERR_GATEWAY_TIMEOUT']) {
      const error = downstreamFailure(Object.assign(new Error('x'), { code }), 'c-9', 1500);
      assert.equal(error.code, 'DRV_ERR_GATEWAY_TIMEOUT');
      assert.match(error.message, /^cluster c-9 sent no response within 1.5 s: .*"drover clusters get c-9"/);
    }
  });

  it('keeps a DroverError that already says what to do', () => {
    const unavailable = new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', 'agent not connected');
    assert.equal(downstreamFailure(unavailable, 'c-9'), unavailable);
  });

  it('turns anything else into a 502 naming the cluster and the cause', () => {
    for (const cause of [new Error('socket hang up'), new DroverError('DRV_ERR_BAD_GATEWAY', 'socket hang up')]) {
      const error = downstreamFailure(cause, 'c-9');
      assert.equal(error.code, 'DRV_ERR_BAD_GATEWAY');
      assert.notEqual(error, cause);
      assert.equal(error.cause, cause);
      assert.equal(error.message, 'the connection to cluster c-9 failed before it answered (socket hang up): '
        + 'its agent may have disconnected; check "drover clusters get c-9" and retry');
    }
  });
});

describe('rewriteLocation (redirects never lead clients elsewhere)', () => {
  const cases: Array<[string, string | undefined]> = [
    ['proxy/', '/k8s/clusters/c-1/api/v1/namespaces/default/pods/p/proxy/'],
    ['/api/v1/x?watch=1#frag', '/k8s/clusters/c-1/api/v1/x?watch=1'],
    ['https://10.0.0.1:6443/healthz', '/k8s/clusters/c-1/healthz'],
    ['//evil.example/x', undefined], ['https://10.0.0.1:6444/x', undefined], ['http://10.0.0.1:6443/x', undefined],
    ['https://evil.example@10.0.0.1:6443/x', '/k8s/clusters/c-1/x'], ['http://[::1', undefined], ['javascript:alert(1)', undefined],
  ];
  for (const [location, expected] of cases) {
    it(`maps ${location} to ${String(expected)}`, () => assert.equal(rewriteLocation(location, at), expected));
  }

  it('drops every Location when the upstream origin cannot be read', () => {
    assert.equal(rewriteLocation('/x', { ...at, upstreamOrigin: 'not a url' }), undefined);
  });

  it('takes the first of repeated Location headers, and keeps repeated ordinary headers', () => {
    const out = responseHeaders({ location: ['/a', '/b'], 'www-authenticate': ['Basic', 'Bearer'] }, at);
    assert.equal(out.location, '/k8s/clusters/c-1/a');
    assert.deepEqual(out['www-authenticate'], ['Basic', 'Bearer']);
  });

  it('drops headers listed in a repeated or oddly cased Connection, and undefined values', () => {
    const out = responseHeaders({ connection: ['Close', ' X-A ,x-b'], 'x-a': '1', 'x-b': '2', 'x-c': undefined, 'proxy-connection': 'x', te: 'x', trailer: 'x', upgrade: 'h2c' }, at);
    assert.deepEqual(Object.keys(out).sort(), ['content-security-policy', 'x-content-type-options']);
  });

  it('adds the sandbox to every one of several CSP headers', () => {
    assert.equal(responseHeaders({ 'content-security-policy': ['a', 'b'] }, at)['content-security-policy'], `a, b, ${SANDBOX_POLICY}`);
  });
});

describe('forwardRequest: ending an exchange from outside, and the bounded wait for a head', () => {
  /** An upstream whose `/hang` never answers and whose `/stream` sends a head and one chunk, then stays open. */
  const upstreamClosed: string[] = [];
  const listItems = 1000;
  let proxyWrites = 0;
  let upstream: Server;
  let proxy: Server;
  let pool: Pool;
  const ends: EndStream[] = [];
  let proxyUrl = '';

  before(async () => {
    upstream = createServer((req, res) => {
      req.socket.once('close', () => upstreamClosed.push(req.url ?? ''));
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED"}\n');
      }
      // kube-apiserver writes a LIST item by item: many small chunks in one burst.
      if (req.url === '/list') {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < listItems; i += 1) res.write(`{"item":${i}}\n`);
        res.end();
      }
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    pool = new Pool(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    proxy = createServer((req, res) => {
      const write = res.write.bind(res) as (chunk: Buffer) => boolean;
      res.write = ((chunk: Buffer) => { proxyWrites += 1; return write(chunk); }) as typeof res.write;
      const timeout = req.headers['x-test-timeout'];
      ends.push(forwardRequest({
        req, res, pool, clusterId: 'c-1', downstreamPath: req.url ?? '/', headers: [], proxyPrefix: '/k8s/clusters/c-1', upstreamOrigin: 'http://x',
        ...(typeof timeout === 'string' ? { responseHeaderTimeoutMs: Number(timeout) } : {}),
      }));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async () => {
    proxy.closeAllConnections();
    proxy.close();
    await pool.destroy();
    upstream.closeAllConnections();
    upstream.close();
  });

  /** A GET through the proxy: status, body, and whether the body ended cleanly (its last chunk) or was cut. */
  const get = (path: string, headers: Record<string, string> = {}, onHead?: () => void): Promise<{ status: number; body: string; complete: boolean }> =>
    new Promise((resolve) => {
      request(`${proxyUrl}${path}`, { headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); if (body.includes('ADDED')) onHead?.(); });
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }));
      }).end();
    });
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) assert.fail(`${what} did not happen`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const revoked = new DroverError('DRV_ERR_FORBIDDEN', 'access to cluster c-1 ended while this stream was open: user disabled');

  it('ends a streaming answer with its last chunk (not a cut) and aborts the upstream', async () => {
    const answer = get('/stream', {}, () => ends.at(-1)?.(revoked));
    const { status, body, complete } = await answer;
    assert.equal(status, 200);
    assert.match(body, /ADDED/);
    assert.equal(complete, true, 'the watch body was cut instead of ended');
    await until('the upstream request to be closed', () => upstreamClosed.includes('/stream'));
  });

  it('answers the reason as a Status when no head came yet, and aborts the upstream', async () => {
    const answer = get('/hang');
    await until('the request to reach the upstream', () => ends.length >= 2);
    await new Promise((r) => setTimeout(r, 50));
    ends.at(-1)?.(revoked);
    const { status, body } = await answer;
    assert.equal(status, 403);
    assert.match(body, /"kind":"Status".*ended while this stream was open/);
    await until('the upstream request to be closed', () => upstreamClosed.includes('/hang'));
  });

  it('answers 504 naming the cluster when no head comes in time, and releases the upstream connection', async () => {
    upstreamClosed.length = 0;
    const { status, body } = await get('/hang', { 'x-test-timeout': '200' });
    assert.equal(status, 504);
    assert.match(body, /cluster c-1 sent no response within 0.2 s/);
    await until('the upstream request to be closed', () => upstreamClosed.includes('/hang'));
  });

  it('passes a LIST written item by item through whole and in order, in far fewer writes than items', async () => {
    proxyWrites = 0;
    const { status, body, complete } = await get('/list');
    assert.equal(status, 200);
    assert.equal(complete, true);
    assert.deepEqual(body.trim().split('\n'), Array.from({ length: listItems }, (_, i) => `{"item":${i}}`));
    // One write per chunk undici parsed would be ~1,000; what one read brought leaves as one write.
    assert.ok(proxyWrites < listItems / 2, `${proxyWrites} writes for ${listItems} items`);
  });
});
