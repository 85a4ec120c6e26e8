import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { Client, Pool, type Dispatcher } from 'undici';
import { DroverError } from '../errors/index.ts';
import { SANDBOX_POLICY, assertOnlyOurIdentity, downstreamFailure, forwardRequest, responseHeaders, rewriteLocation } from './forward.ts';
import type { EndStream } from './open-streams.ts';
import { until } from '../testing/index.ts';

const at = { proxyPrefix: '/k8s/clusters/c-1', upstreamOrigin: 'https://10.0.0.1:6443', downstreamPath: '/api/v1/namespaces/default/pods/p/proxy' };

describe('responseHeaders (what a downstream answer may carry to Drover\'s origin)', () => {
  it('drops Set-Cookie in any form, so a pod cannot plant or overwrite Drover\'s session cookies', () => {
    const out = responseHeaders({ 'set-cookie': ['drover_session=attacker; Path=/', 'csrf=x'], 'content-type': 'text/html' }, at);
    assert.equal(out['set-cookie'], undefined);
    assert.equal(out['content-type'], 'text/html');
  });

  it('drops the replicas\' marker, so a cluster\'s 421 cannot pass for a replica\'s and send a relayed request around', () => {
    const out = responseHeaders({ 'x-drover-misdirected': 'r-forged', 'content-type': 'application/json' }, at);
    assert.equal(out['x-drover-misdirected'], undefined);
  });

  it('marks every answer nosniff and sandboxes it into an opaque origin', () => {
    const out = responseHeaders({ 'content-type': 'application/json' }, at);
    assert.equal(out['x-content-type-options'], 'nosniff');
    assert.equal(out['content-security-policy'], SANDBOX_POLICY);
    // Without allow-same-origin the page runs in an opaque origin: no Drover cookie, no Drover API as the viewer.
    assert.equal(SANDBOX_POLICY, 'sandbox allow-scripts allow-forms allow-popups allow-downloads');
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

  it('leaves no Location key at all when it drops one (Node refuses a header set to undefined)', () => {
    assert.equal('location' in responseHeaders({ location: 'https://evil.example/' }, at), false);
  });

  it('reads an empty Location list as an empty Location: the request itself, never another page', () => {
    assert.equal(responseHeaders({ location: [] }, at).location, `/k8s/clusters/c-1${at.downstreamPath}`);
    assert.equal(responseHeaders({ location: '' }, at).location, `/k8s/clusters/c-1${at.downstreamPath}`);
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

/** What a caller got through the proxy: status, head, body, whether the body ended cleanly, and any 1xx it was shown. */
interface Answer { status: number; headers: IncomingHttpHeaders; body: string; complete: boolean; informational: number[] }

/**
 * Sends one request to `url` and collects the answer. `onHead` runs once the head has
 * arrived (with the response, to read or leave), `onBody` on every chunk; the caller never
 * waits for a body that does not come: the answer is settled when the connection closes.
 */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; onHead?: (res: IncomingMessage) => void; onBody?: (body: string) => void } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const informational: number[] = [];
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      options.onHead?.(res);
      res.on('data', (c: Buffer) => { body += c.toString(); options.onBody?.(body); });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, complete: res.complete, informational }));
    });
    req.on('information', (info) => informational.push(info.statusCode));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The header list the chain would forward for this caller (its own headers, minus host and hop-by-hop ones). */
function callerHeaders(req: IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    if (!['host', 'connection', 'transfer-encoding', 'x-test-timeout'].includes(name)) out.push([name, req.rawHeaders[i + 1] ?? '']);
  }
  return out;
}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const revoked = new DroverError('DRV_ERR_FORBIDDEN', 'access to cluster c-1 ended while this stream was open: user disabled');

describe('forwardRequest against a real upstream (hostile, slow or vanishing)', () => {
  /** What the upstream saw, per path: the request head, the body, and whether its connection closed. */
  const seen = new Map<string, { headers: IncomingHttpHeaders; body: string; closed: boolean }>();
  /** Upstream responses still open, by path, for tests that finish them. */
  const open = new Map<string, ServerResponse>();
  const listItems = 1000;
  let proxyWrites = 0;
  /** What an observer (the audit trail) was told, by path, for requests that asked for one (`x-test-observe`). */
  const observed = new Map<string, { bodyAsked: boolean; status?: number; data: string }>();
  let upstream: Server;
  let proxy: Server;
  let pool: Pool;
  const ends: EndStream[] = [];
  /** The proxy's response to each path, to see what became of its connection. */
  const responses = new Map<string, ServerResponse>();
  let proxyUrl = '';
  let upstreamUrl = '';

  before(async () => {
    upstream = createServer((req, res) => {
      const path = req.url ?? '';
      const entry = { headers: req.headers, body: '', closed: false };
      seen.set(path, entry);
      req.socket.once('close', () => { entry.closed = true; });
      req.on('data', (c: Buffer) => { entry.body += c.toString(); });
      req.on('end', () => {
        switch (path) {
          case '/answer':
            // A cluster (or a pod behind the proxy subresource) trying to plant a cookie and send the browser elsewhere.
            res.writeHead(201, {
              'content-type': 'text/html', 'set-cookie': '__Host-drover_session=planted; Path=/', 'x-kept': 'yes',
              location: `${upstreamUrl}/api/v1/next`, 'content-length': '4',
            });
            res.end('done');
            return;
          case '/ok':
            res.writeHead(200, { 'content-length': '2' });
            res.end('ok');
            return;
          case '/foreign':
            res.writeHead(302, { location: 'https://evil.example/steal', 'content-length': '0' });
            res.end();
            return;
          case '/hints':
            // 103 Early Hints is an interim answer: hop-by-hop, not the caller's to see.
            res.writeEarlyHints({ link: '</evil.css>; rel=preload; as=style' }, () => {
              res.writeHead(200, { 'content-length': '5' });
              res.end('final');
            });
            return;
          case '/echo':
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ te: req.headers['transfer-encoding'] ?? null, cl: req.headers['content-length'] ?? null, body: entry.body }));
            return;
          case '/cut':
            // The cluster (or the tunnel) dies in the middle of a body.
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write('{"partial":');
            setImmediate(() => res.socket?.destroy());
            return;
          case '/list':
            // kube-apiserver writes a LIST item by item: many small chunks in one burst.
            res.writeHead(200, { 'content-type': 'application/json' });
            for (let i = 0; i < listItems; i += 1) res.write(`{"item":${i}}\n`);
            res.end();
            return;
          case '/flood':
            // A watch whose caller stops reading: far more than the sockets between can hold.
            res.writeHead(200, { 'content-type': 'application/json' });
            res.flushHeaders();
            for (let i = 0; i < 4096; i += 1) res.write(`${'x'.repeat(4095)}\n`);
            open.set(path, res);
            return;
          case '/stream': case '/quiet':
            // A watch: the head now (no Content-Length), events later; `/quiet` sends none until the test says so.
            res.writeHead(200, { 'content-type': 'application/json' });
            res.flushHeaders();
            if (path === '/stream') res.write('{"type":"ADDED"}\n');
            open.set(path, res);
            return;
          default:
            // `/hang` and anything else: a cluster that never answers.
            return;
        }
      });
    });
    upstreamUrl = await listen(upstream);
    pool = new Pool(upstreamUrl);
    proxy = createServer((req, res) => {
      const write = res.write.bind(res) as (chunk: Buffer) => boolean;
      res.write = ((chunk: Buffer) => { proxyWrites += 1; return write(chunk); }) as typeof res.write;
      const timeout = req.headers['x-test-timeout'];
      const seen = { bodyAsked: false, data: '' } as { bodyAsked: boolean; status?: number; data: string };
      if (req.headers['x-test-observe'] !== undefined) observed.set(req.url ?? '', seen);
      responses.set(req.url ?? '', res);
      ends.push(forwardRequest({
        req, res, pool, clusterId: 'c-1', downstreamPath: req.url ?? '/', headers: callerHeaders(req), proxyPrefix: '/k8s/clusters/c-1', upstreamOrigin: upstreamUrl, endedDrainMs: 300,
        ...(typeof timeout === 'string' ? { responseHeaderTimeoutMs: Number(timeout) } : {}),
        ...(req.headers['x-test-observe'] === undefined ? {} : {
          observer: {
            // The observer's copy of the body is what goes upstream: shouted, so the test can tell.
            body: (incoming: IncomingMessage) => {
              seen.bodyAsked = true;
              return incoming.pipe(new Transform({ transform: (chunk: Buffer, _enc, done) => done(null, chunk.toString().toUpperCase()) }));
            },
            onResponseStart: (status: number) => { seen.status = status; },
            onResponseData: (chunk: Buffer) => { seen.data += chunk.toString(); },
          },
        }),
      }));
    });
    proxyUrl = await listen(proxy);
  });
  after(async () => {
    proxy.closeAllConnections();
    proxy.close();
    await pool.destroy();
    upstream.closeAllConnections();
    upstream.close();
  });

  it('sends upstream the body an observer (the audit trail) hands back, and shows it the status and every byte of the answer', async () => {
    const answer = await send(`${proxyUrl}/echo`, { method: 'POST', headers: { 'x-test-observe': '1', 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal((JSON.parse(answer.body) as { body: string }).body, 'HELLO');
    assert.deepEqual(observed.get('/echo'), { bodyAsked: true, status: 200, data: answer.body });
  });

  it('asks no observer for the body of a request without one', async () => {
    const answer = await send(`${proxyUrl}/ok`, { headers: { 'x-test-observe': '1' } });
    assert.deepEqual(observed.get('/ok'), { bodyAsked: false, status: 200, data: answer.body });
  });

  it('passes a LIST written item by item through whole and in order, in far fewer writes than items', async () => {
    proxyWrites = 0;
    const { status, body, complete } = await send(`${proxyUrl}/list`);
    assert.equal(status, 200);
    assert.equal(complete, true);
    assert.deepEqual(body.trim().split('\n'), Array.from({ length: listItems }, (_, i) => `{"item":${i}}`));
    // One write per chunk undici parsed would be ~1,000; what one read brought leaves as one write.
    assert.ok(proxyWrites < listItems / 2, `${proxyWrites} writes for ${listItems} items`);
  });

  it('passes the status and body on, without the cluster\'s cookie, with its own Location mapped onto the proxy, nosniff and sandboxed', async () => {
    const answer = await send(`${proxyUrl}/answer`);
    assert.equal(answer.status, 201);
    assert.equal(answer.body, 'done');
    assert.equal(answer.complete, true);
    assert.equal(answer.headers['set-cookie'], undefined);
    assert.equal(answer.headers['x-kept'], 'yes');
    assert.equal(answer.headers.location, '/k8s/clusters/c-1/api/v1/next');
    assert.equal(answer.headers['x-content-type-options'], 'nosniff');
    assert.equal(answer.headers['content-security-policy'], SANDBOX_POLICY);
  });

  it('gives a plain 200 the same protection (nosniff, sandbox)', async () => {
    const answer = await send(`${proxyUrl}/ok`);
    assert.deepEqual([answer.status, answer.body, answer.headers['x-content-type-options'], answer.headers['content-security-policy']], [200, 'ok', 'nosniff', SANDBOX_POLICY]);
  });

  it('passes a redirect to a third party on without its Location', async () => {
    const answer = await send(`${proxyUrl}/foreign`);
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.location, undefined);
    assert.equal(answer.complete, true);
  });

  it('keeps a 103 Early Hints (an interim answer with a cluster-chosen Link) from the caller, and relays the final answer', async () => {
    const answer = await send(`${proxyUrl}/hints`);
    assert.deepEqual(answer.informational, []);
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'final');
    assert.equal(answer.headers['x-content-type-options'], 'nosniff');
  });

  it('sends no body, and no framing for one, for a request without a body', async () => {
    for (const headers of [{}, { 'content-length': '0' }] as Array<Record<string, string>>) {
      const answer = await send(`${proxyUrl}/echo`, { headers });
      assert.deepEqual(JSON.parse(answer.body), { te: null, cl: null, body: '' }, JSON.stringify(headers));
    }
  });

  it('sends a request body on, whether the caller sized it or sent it chunked', async () => {
    for (const headers of [{ 'content-length': '15' }, { 'transfer-encoding': 'chunked' }] as Array<Record<string, string>>) {
      const answer = await send(`${proxyUrl}/echo`, { method: 'POST', headers, body: '{"kind":"Pod"}\n' });
      assert.equal((JSON.parse(answer.body) as { body: string }).body, '{"kind":"Pod"}\n', JSON.stringify(headers));
    }
  });

  it('sends a streamed answer\'s head at once, before its first event', async () => {
    let headArrived = false;
    const answer = send(`${proxyUrl}/quiet`, { onHead: () => { headArrived = true; } });
    await until('the watch head to reach the caller', () => headArrived);
    assert.equal(open.has('/quiet'), true);
    open.get('/quiet')?.end('{"type":"DELETED"}\n');
    const { status, body, complete } = await answer;
    assert.deepEqual([status, body, complete], [200, '{"type":"DELETED"}\n', true]);
  });

  it('cuts the caller\'s body (not a clean end) when the cluster dies in the middle of it', async () => {
    const answer = await send(`${proxyUrl}/cut`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body, '{"partial":');
    assert.equal(answer.complete, false, 'a cut body must not look complete to the caller');
  });

  it('releases the upstream stream when the caller goes away in the middle of a watch', async () => {
    const req = request(`${proxyUrl}/stream`, (res) => res.once('data', () => req.destroy()));
    req.on('error', () => undefined);
    req.end();
    await until('the upstream watch to be closed', () => seen.get('/stream')?.closed === true);
  });

  it('ends a streaming answer with its last chunk (not a cut) and aborts the upstream', async () => {
    seen.delete('/stream');
    const { status, body, complete } = await send(`${proxyUrl}/stream`, { onBody: (b) => { if (b.includes('ADDED')) ends.at(-1)?.(revoked); } });
    assert.equal(status, 200);
    assert.match(body, /ADDED/);
    assert.equal(complete, true, 'the watch body was cut instead of ended');
    await until('the upstream request to be closed', () => seen.get('/stream')?.closed === true);
  });

  it('cuts the connection of a caller that stopped reading once access ended and the drain time is up', async () => {
    const socket = connect(Number(new URL(proxyUrl).port), '127.0.0.1');
    socket.write('GET /flood HTTP/1.1\r\nHost: proxy\r\n\r\n');
    // The caller reads the head, then nothing: what the watch sends piles up in the sockets and the response.
    await new Promise<void>((resolve) => socket.once('data', () => { socket.pause(); resolve(); }));
    await until('the flood to reach the proxy', () => responses.get('/flood')?.writableNeedDrain === true);
    ends.at(-1)?.(revoked);
    const res = responses.get('/flood');
    assert.equal(res?.destroyed, false, 'ended politely first: a reading caller would get the last chunk');
    await until('the connection to be cut', () => res?.destroyed === true, 3_000);
    socket.destroy();
  });

  it('answers the reason as a Status when no head came yet, and aborts the upstream', async () => {
    seen.delete('/hang');
    const answer = send(`${proxyUrl}/hang`);
    await until('the request to reach the upstream', () => seen.has('/hang'));
    ends.at(-1)?.(revoked);
    const { status, body } = await answer;
    assert.equal(status, 403);
    assert.match(body, /"kind":"Status".*ended while this stream was open/);
    await until('the upstream request to be closed', () => seen.get('/hang')?.closed === true);
  });

  it('answers 504 naming the cluster when no head comes in time, and releases the upstream connection', async () => {
    seen.delete('/hang');
    const { status, body } = await send(`${proxyUrl}/hang`, { headers: { 'x-test-timeout': '200' } });
    assert.equal(status, 504);
    assert.match(body, /cluster c-1 sent no response within 0.2 s/);
    await until('the upstream request to be closed', () => seen.get('/hang')?.closed === true);
  });
});

describe('forwardRequest when access ends before the cluster connection is even made', () => {
  it('never sends the request once it was ended while the connection was still being made', async () => {
    const paths: string[] = [];
    const upstream = createServer((req, res) => { paths.push(req.url ?? ''); res.end('x'); });
    const upstreamUrl = await listen(upstream);
    // One connection whose dial waits for the test: a slow tunnel.
    let openGate!: () => void;
    const gate = new Promise<void>((r) => { openGate = r; });
    const client = new Client(upstreamUrl, {
      connect: (options, callback) => {
        void gate.then(() => {
          const socket = connect(Number(options.port), String(options.hostname));
          socket.once('connect', () => callback(null, socket));
          socket.once('error', (error) => callback(error, null));
        });
      },
    });
    let end: EndStream | undefined;
    const proxy = createServer((req, res) => {
      end = forwardRequest({ req, res, pool: client, clusterId: 'c-1', downstreamPath: req.url ?? '/', headers: [], proxyPrefix: '/k8s/clusters/c-1', upstreamOrigin: upstreamUrl });
      if (req.url === '/revoked-while-dialing') end(revoked);
    });
    const proxyUrl = await listen(proxy);
    try {
      const refused = await send(`${proxyUrl}/revoked-while-dialing`);
      assert.equal(refused.status, 403);
      assert.ok(end);
      openGate();
      // The next request on the same (single, ordered) connection: had the first been sent, the cluster saw it before this one.
      const next = await send(`${proxyUrl}/next`);
      assert.equal(next.body, 'x');
      assert.deepEqual(paths, ['/next']);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
      await client.destroy();
      upstream.close();
    }
  });
});

describe('forwardRequest and a caller that reads slowly (backpressure)', () => {
  /**
   * A dispatcher that plays kube-apiserver's side of undici's handler contract: a head, then
   * body chunks as long as the handler does not pause it. A caller that does not read must
   * pause the cluster's stream (else the proxy buffers a whole watch in memory), and reading
   * again must resume it.
   */
  it('pauses the cluster\'s stream while the caller does not read, and resumes it when it does', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'w');
    const state = { paused: false, pauses: 0, resumes: 0, sent: 0 };
    const controller = {
      get paused() { return state.paused; }, aborted: false, reason: null,
      pause: () => { state.paused = true; state.pauses++; },
      resume: () => { state.paused = false; state.resumes++; },
      abort: () => undefined,
    } as unknown as Dispatcher.DispatchController;
    let handler: Dispatcher.DispatchHandler | undefined;
    const scripted = { dispatch: (_options: unknown, h: Dispatcher.DispatchHandler) => { handler = h; return true; } } as unknown as Dispatcher;
    const proxy = createServer((req, res) => {
      forwardRequest({ req, res, pool: scripted, clusterId: 'c-1', downstreamPath: '/w', headers: [], proxyPrefix: '/k8s/clusters/c-1', upstreamOrigin: 'http://x' });
      handler?.onRequestStart?.(controller, {});
      handler?.onResponseStart?.(controller, 200, { 'content-type': 'application/json' }, 'OK');
    });
    const proxyUrl = await listen(proxy);
    let received = 0;
    let caller: IncomingMessage | undefined;
    const done = new Promise<void>((resolve) => {
      request(`${proxyUrl}/w`, (res) => {
        caller = res;
        res.pause();
        res.on('data', (c: Buffer) => { received += c.length; });
        res.on('end', resolve);
      }).end();
    });
    try {
      await until('the head to reach the caller', () => caller !== undefined);
      // 64 MiB at most: far more than any socket buffer holds, so a proxy that never pauses shows here.
      // One chunk per turn of the event loop, as undici hands over what one socket read parsed.
      // The kernel's socket buffers drain a few times first; once they are full, the stream stays paused.
      let resumed = -1;
      while (state.resumes !== resumed && state.sent < 1024) {
        while (!state.paused && state.sent < 1024) {
          handler?.onResponseData?.(controller, chunk);
          state.sent++;
          await new Promise((r) => setImmediate(r));
        }
        resumed = state.resumes;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(state.paused, true, `the cluster's stream was never paused for good (${state.sent} chunks buffered for a caller that reads nothing)`);
      caller?.resume();
      await until('the stream to be resumed once the caller reads', () => state.resumes > resumed);
      handler?.onResponseEnd?.(controller, {});
      await done;
      assert.equal(received, state.sent * chunk.length);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });
});
