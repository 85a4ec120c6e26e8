/**
 * The caller of an upgrade (kubectl exec, port-forward) going away before the
 * cluster said 101: the connection to the cluster must close with it, at either
 * point it can happen (still dialing, or waiting for the answer), so nothing keeps
 * running downstream for a client that is gone. The upstream here is a TLS server
 * that takes the request and never answers, which a real kube-apiserver cannot be
 * made to do on cue; the happy and failed upgrades run against a real one in
 * test/e2e/proxy-forward.test.ts and test/e2e/proxy.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { makeTestPki, until } from '../testing/index.ts';
import { DroverError } from '../errors/index.ts';
import type { EndStream } from './open-streams.ts';
import { forwardUpgrade } from './upgrade.ts';

const pki = makeTestPki();

describe('an upgrade whose caller leaves before the 101', () => {
  let silent: TlsServer;
  let proxy: Server;
  let proxyPort: number;
  /** What the silent upstream received, per connection. */
  const upstreams: { socket: TLSSocket; received: string; closed: boolean; upgraded: boolean }[] = [];
  const dialed: { socket: Socket; closed: boolean }[] = [];
  /** The proxy's side of each caller connection. */
  const callers: Duplex[] = [];
  /** While set, a dial waits for it: the caller can leave mid-dial. */
  let dialGate: Promise<void> | undefined;

  before(async () => {
    silent = createTlsServer({ cert: pki.certPem, key: pki.keyPem }, (socket) => {
      const entry = { socket, received: '', closed: false, upgraded: false };
      upstreams.push(entry);
      socket.on('data', (c: Buffer) => {
        entry.received += c.toString();
        const port = (silent.address() as AddressInfo).port;
        if (entry.received.startsWith('GET /redirect') && entry.received.includes('\r\n\r\n')) {
          socket.end('HTTP/1.1 302 \r\nSet-Cookie: drover_session=planted\r\nX-Drover-Misdirected: r-forged\r\nLocation: https://127.0.0.1:' + port + '/api/v1/x?y=1\r\n'
            + 'Keep-Alive: timeout=5\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nX-Kept: 1\r\n\r\n2\r\nno\r\n0\r\n\r\n');
          return;
        }
        if (entry.received.startsWith('GET /foreign') && entry.received.includes('\r\n\r\n')) {
          socket.end('HTTP/1.1 307 Temporary Redirect\r\nLocation: https://evil.example/steal\r\ncontent-length: 0\r\n\r\n');
          return;
        }
        if (entry.received.startsWith('GET /refuse') && entry.received.includes('\r\n\r\n')) {
          socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nno');
          return;
        }
        // `/echo` answers the upgrade after a while, then echoes what follows the request head.
        if (entry.received.startsWith('GET /echo') && entry.received.includes('\r\n\r\n') && !entry.upgraded) {
          entry.upgraded = true;
          setTimeout(() => {
            socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
            socket.write(entry.received.slice(entry.received.indexOf('\r\n\r\n') + 4));
            socket.on('data', (more: Buffer) => socket.write(more));
          }, 200);
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => { entry.closed = true; });
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const upstreamPort = (silent.address() as AddressInfo).port;
    proxy = createHttpServer();
    proxy.on('upgrade', (req, socket, head) => {
      callers.push(socket);
      void forwardUpgrade({
        req, socket, head, clusterId: 'c-1', downstreamPath: req.url ?? '/', headers: [['authorization', 'Bearer ours'], ['x-dup', '1'], ['x-dup', '2'], ['x-dup', '3']], protocol: 'websocket', proxyPrefix: '/k8s/clusters/c-1',
        endpoint: {
          url: new URL(`https://127.0.0.1:${upstreamPort}`), caPem: pki.caPem,
          dial: async () => {
            const entry = { socket: netConnect(upstreamPort, '127.0.0.1'), closed: false };
            dialed.push(entry);
            entry.socket.on('close', () => { entry.closed = true; });
            await dialGate;
            return entry.socket;
          },
        },
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  after(() => {
    proxy.close();
    silent.close();
    for (const { socket } of upstreams) socket.destroy();
  });

  const sendUpgrade = async (path = '/api/v1/namespaces/default/pods/p/exec?command=sh', after = '', allowHalfOpen = false): Promise<Socket> => {
    const caller = netConnect({ port: proxyPort, host: '127.0.0.1', allowHalfOpen });
    caller.on('error', () => undefined);
    await new Promise((r) => caller.once('connect', r));
    caller.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n${after}`);
    return caller;
  };

  it('closes the upstream connection when the caller leaves while it is still being dialed', async () => {
    let open!: () => void;
    dialGate = new Promise((r) => { open = r; });
    const before = dialed.length;
    const caller = await sendUpgrade();
    await until('the dial to start', () => dialed.length > before);
    caller.destroy();
    await new Promise((r) => setTimeout(r, 50));
    open();
    dialGate = undefined;
    await until('the dialed connection to close', () => dialed[before]?.closed === true);
  });

  it('closes the upstream connection when the caller leaves while kube-apiserver has not answered', async () => {
    const before = upstreams.length;
    const caller = await sendUpgrade();
    await until('the request to reach the cluster', () => upstreams[before]?.received.includes('\r\n\r\n') === true);
    const received = upstreams[before]?.received ?? '';
    assert.match(received, /^GET \/api\/v1\/namespaces\/default\/pods\/p\/exec\?command=sh HTTP\/1\.1\r\n/);
    assert.match(received, /\r\nauthorization: Bearer ours\r\n/i);
    caller.destroy();
    await until('the upstream connection to close', () => upstreams[before]?.closed === true);
  });

  it('passes on, after the 101, what the caller sent before it', async () => {
    const caller = await sendUpgrade('/echo', 'early-bytes;');
    let answer = '';
    caller.on('data', (c: Buffer) => { answer += c.toString(); });
    await until('the 101', () => answer.includes('\r\n\r\n'));
    caller.write('later-bytes;');
    await until('both echoed', () => answer.endsWith('early-bytes;later-bytes;'));
    // The 101 head as kube-apiserver sent it: no `connection: close` added, its own Connection and Upgrade kept.
    assert.equal(answer.slice(0, answer.indexOf('\r\n\r\n') + 4), 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    caller.destroy();
  });

  it('refuses a caller that sends more than 64 KiB before the 101, closing both sides', async () => {
    const before = upstreams.length;
    const caller = await sendUpgrade();
    await until('the request to reach the cluster', () => upstreams[before]?.received.includes('\r\n\r\n') === true);
    const closed = new Promise((r) => caller.once('close', r));
    caller.write(Buffer.alloc(100 * 1024, 'x'));
    await closed;
    await until('the upstream connection to close', () => upstreams[before]?.closed === true);
  });

  const refusedAnswer = async (path: string): Promise<string> => {
    const caller = await sendUpgrade(path);
    let answer = '';
    caller.on('data', (c: Buffer) => { answer += c.toString(); });
    await new Promise((r) => caller.once('close', r));
    return answer;
  };

  it('relays a refused upgrade\'s head without its cookies, connection headers or a replica\'s marker, with a rewritten Location', async () => {
    const answer = await refusedAnswer('/redirect');
    assert.equal(answer.slice(0, answer.indexOf('\r\n\r\n') + 4),
      'HTTP/1.1 302 Found\r\nLocation: /k8s/clusters/c-1/api/v1/x?y=1\r\nX-Kept: 1\r\nconnection: close\r\n\r\n');
    assert.equal(answer.slice(answer.indexOf('\r\n\r\n') + 4), 'no');
  });

  it('drops a Location that points away from the cluster', async () => {
    const answer = await refusedAnswer('/foreign');
    assert.equal(answer, 'HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  });

  it('sends our identity and every repeated header upstream, and asks for the caller\'s protocol', async () => {
    const before = upstreams.length;
    await refusedAnswer('/refuse');
    const head = upstreams[before]?.received.split('\r\n\r\n')[0] ?? '';
    assert.match(head, /^GET \/refuse HTTP\/1\.1\r\n/);
    assert.match(head, /\r\nauthorization: Bearer ours\r\n/);
    assert.equal(head.split('\r\n').filter((l) => /^authorization:/i.test(l)).length, 1, head);
    assert.match(head, /\r\nx-dup: 1\r\nx-dup: 2\r\nx-dup: 3\r\n/);
    assert.doesNotMatch(head, /undefined/);
    assert.match(head, /\r\nconnection: Upgrade\r\n/);
    assert.match(head, /\r\nupgrade: websocket(\r\n|$)/);
  });

  it('relays a refused upgrade, then closes the caller\'s connection on the proxy side as well', async () => {
    const before = callers.length;
    const caller = await sendUpgrade('/refuse', '', true);
    let answer = '';
    caller.on('data', (c: Buffer) => { answer += c.toString(); });
    await new Promise((r) => caller.once('end', r));
    assert.match(answer, /^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*connection: close\r\n\r\nno$/);
    // The caller keeps its half open (as a client may): the proxy must not wait for it.
    await until('the proxy to close its side', () => callers[before]?.destroyed === true);
    caller.destroy();
  });
});

/**
 * Hostile, slow and vanishing parties around an upgrade: a kube-apiserver (or something
 * in its place) that answers late, twice, partly, or not at all, resets or keeps its
 * connection; a caller that sends bytes before the 101, half-closes, or resets; and access
 * taken away or the head timeout reached at every point of the exchange.
 */
describe('an upgrade between a hostile or slow cluster and a hostile caller', () => {
  let upstream: TlsServer;
  let proxy: Server;
  let proxyPort: number;
  const conns: { socket: TLSSocket; received: string; closed: boolean }[] = [];
  /** The proxy's side of each caller connection, and what ends each exchange from outside. */
  const callers: Duplex[] = [];
  const ends: EndStream[] = [];
  /** Upgrades held until the test cues their 101 (by path). */
  const cues = new Map<string, () => void>();
  /** Dials that were given up, and whether their signal said so. */
  const dialSignals: AbortSignal[] = [];
  /** What an observer (the audit trail) was told, per caller, when the caller asked for one (`x-test-observe`). */
  const observed = new Map<number, { statuses: number[]; upgraded?: { piped: boolean; protocol: string | undefined } }>();

  const answerFor = (entry: { socket: TLSSocket; received: string }, path: string): void => {
    const { socket } = entry;
    const switching = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
    const echo = (): void => {
      const rest = entry.received.slice(entry.received.indexOf('\r\n\r\n') + 4);
      if (rest) socket.write(rest);
      socket.on('data', (more: Buffer) => socket.write(more));
    };
    switch (path) {
      case '/echo-now': socket.write(switching); echo(); return;
      case '/echo-protocol': socket.write(switching.replace('\r\n\r\n', '\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n')); echo(); return;
      case '/echo-on-cue': cues.set(path, () => { socket.write(switching); echo(); }); return;
      case '/first-frame': socket.write(`${switching}first-frame;`); echo(); return;
      case '/reset-after-101':
        // Stops reading, so that closing with the caller's bytes unread resets the connection (RST).
        socket.write(switching);
        socket.once('data', () => { socket.pause(); cues.set(path, () => socket.destroy()); });
        return;
      case '/close-after-101': socket.write(switching); socket.once('data', () => socket.end()); return;
      case '/hangup': socket.destroy(); return;
      case '/odd-status': socket.end('HTTP/1.1 599 \r\ncontent-length: 0\r\n\r\n'); return;
      case '/cut-body': socket.write('HTTP/1.1 500 Internal Server Error\r\ncontent-length: 100\r\n\r\nab'); setImmediate(() => socket.destroy()); return;
      case '/refuse-slowly':
        // A refusal whose body takes longer than the head timeout, on a connection the cluster would keep.
        socket.write('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n\r\nno');
        cues.set(path, () => socket.write('pe'));
        return;
      default: // never answers
    }
  };

  before(async () => {
    upstream = createTlsServer({ cert: pki.certPem, key: pki.keyPem }, (socket) => {
      const entry = { socket, received: '', closed: false };
      conns.push(entry);
      let answered = false;
      socket.on('data', (c: Buffer) => {
        if (answered) return;
        entry.received += c.toString();
        if (!entry.received.includes('\r\n\r\n')) return;
        answered = true;
        answerFor(entry, entry.received.split(' ')[1] ?? '');
      });
      socket.on('error', () => undefined);
      socket.on('close', () => { entry.closed = true; });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    proxy = createHttpServer();
    proxy.on('upgrade', (req, socket, head) => {
      callers.push(socket);
      const dial = req.headers['x-test-dial'];
      const timeout = req.headers['x-test-timeout'];
      const seen = { statuses: [] as number[] } as { statuses: number[]; upgraded?: { piped: boolean; protocol: string | undefined } };
      if (req.headers['x-test-observe'] !== undefined) observed.set(callers.length - 1, seen);
      ends.push(forwardUpgrade({
        req, socket, head, clusterId: 'c-1', downstreamPath: req.url ?? '/', headers: [['authorization', 'Bearer ours']], protocol: 'websocket', proxyPrefix: '/k8s/clusters/c-1',
        ...(typeof timeout === 'string' ? { responseHeaderTimeoutMs: Number(timeout) } : {}),
        // `x-test-observe: partial`: an observer that implements none of the callbacks (they are all optional).
        ...(req.headers['x-test-observe'] === 'partial' ? { observer: {} } : {}),
        ...(req.headers['x-test-observe'] === undefined || req.headers['x-test-observe'] === 'partial' ? {} : {
          observer: {
            onResponseStart: (status: number) => { seen.statuses.push(status); },
            onUpgraded: (caller: Duplex, upstreamSocket: Duplex, protocol: string | undefined) => {
              seen.upgraded = { piped: caller.listenerCount('data') > 0 && upstreamSocket.listenerCount('data') > 0, protocol };
            },
          },
        }),
        endpoint: {
          url: new URL(`https://127.0.0.1:${upstreamPort}`), caPem: pki.caPem,
          dial: (signal) => {
            if (dial === 'fail') return Promise.reject(new Error('the agent refused the dial'));
            if (dial === 'hang') {
              // A tunnel that never connects, but gives up when told to.
              return new Promise((_, reject) => {
                if (signal) dialSignals.push(signal);
                signal?.addEventListener('abort', () => reject(new Error('dial aborted')), { once: true });
              });
            }
            return Promise.resolve(netConnect(upstreamPort, '127.0.0.1'));
          },
        },
      }));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  after(() => {
    proxy.close();
    upstream.close();
    for (const { socket } of conns) socket.destroy();
  });

  /** A caller that has sent its upgrade request; `answer` collects what comes back. */
  const open = async (path: string, options: { headers?: Record<string, string>; allowHalfOpen?: boolean } = {}) => {
    const caller = netConnect({ port: proxyPort, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
    const extra = Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const head = `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${extra}\r\n`;
    const state = { answer: '', ended: false, closed: false, caller, head, index: callers.length, connIndex: conns.length };
    caller.on('error', () => undefined);
    caller.on('data', (c: Buffer) => { state.answer += c.toString(); });
    caller.on('end', () => { state.ended = true; });
    caller.on('close', () => { state.closed = true; });
    await new Promise((r) => caller.once('connect', r));
    caller.write(head);
    return state;
  };
  const headOf = (answer: string): string => answer.slice(0, answer.indexOf('\r\n\r\n') + 4);
  const bodyOf = (answer: string): string => answer.slice(answer.indexOf('\r\n\r\n') + 4);
  const revoked = new DroverError('DRV_ERR_FORBIDDEN', 'access to cluster c-1 ended while this stream was open: user disabled');

  it('keeps up to 64 KiB sent before the 101 and passes it on after; after the 101 any amount flows, and a half-close still gets every echo', async () => {
    const call = await open('/echo-on-cue', { allowHalfOpen: true });
    await until('the request to reach the cluster', () => cues.has('/echo-on-cue'));
    const early = Buffer.alloc(64 * 1024, 'e');
    call.caller.write(early);
    // Every early byte has reached the proxy (and its early-bytes reader) before the cluster says 101.
    await until('the early bytes to reach the proxy', () => ((callers[call.index] as Socket | undefined)?.bytesRead ?? 0) >= call.head.length + early.length);
    cues.get('/echo-on-cue')?.();
    cues.delete('/echo-on-cue');
    await until('the 101', () => call.answer.includes('\r\n\r\n'));
    const late = Buffer.alloc(100 * 1024, 'l');
    call.caller.end(late);
    const total = early.length + late.length;
    await until('every byte echoed', () => bodyOf(call.answer).length >= total || call.closed);
    assert.equal(bodyOf(call.answer), early.toString() + late.toString());
    await until('both sides to close once the cluster ends', () => call.closed && conns[call.connIndex]?.closed === true);
  });

  it('passes on bytes the cluster sent with its 101', async () => {
    const call = await open('/first-frame');
    await until('the first frame', () => call.answer.endsWith('first-frame;'));
    assert.equal(call.answer, 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nfirst-frame;');
    call.caller.destroy();
  });

  it('answers 504 naming the cluster when it does not answer in time, and closes the cluster connection', async () => {
    const call = await open('/exec-never', { headers: { 'x-test-timeout': '200' } });
    await until('the answer', () => call.closed);
    assert.match(headOf(call.answer), /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    assert.match(bodyOf(call.answer), /cluster c-1 sent no response within 0.2 s/);
    await until('the cluster connection to close', () => conns[call.connIndex]?.closed === true);
  });

  it('never cuts an upgraded exec at the head timeout: the timer stops at the 101', async () => {
    const call = await open('/echo-now', { headers: { 'x-test-timeout': '400' } });
    await until('the 101', () => call.answer.includes('\r\n\r\n'));
    await new Promise((r) => setTimeout(r, 1200));
    call.caller.write('still-here;');
    await until('the echo', () => call.answer.endsWith('still-here;') || call.closed);
    assert.equal(bodyOf(call.answer), 'still-here;');
    call.caller.destroy();
  });

  it('never cuts a slow refusal at the head timeout either, nor the caller\'s half-close: the whole body, then both sides close', async () => {
    const call = await open('/refuse-slowly', { headers: { 'x-test-timeout': '400' }, allowHalfOpen: true });
    await until('the refusal\'s head', () => call.answer.includes('\r\n\r\nno'));
    // The caller is done sending: the proxy does not read it any more, so it cannot be cut short by that.
    call.caller.end();
    await new Promise((r) => setTimeout(r, 1200));
    cues.get('/refuse-slowly')?.();
    cues.delete('/refuse-slowly');
    await until('the caller\'s side to end', () => call.ended);
    assert.equal(call.answer, 'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope');
    // The cluster would keep its connection for another request: the proxy closes it.
    await until('the cluster connection to close', () => conns[call.connIndex]?.closed === true);
    await until('the proxy to close the caller\'s side', () => callers[call.index]?.destroyed === true);
  });

  it('answers the reason as a Status when access ends before the cluster answered, and closes the cluster connection', async () => {
    const call = await open('/exec-never');
    await until('the request to reach the cluster', () => conns[call.connIndex]?.received.includes('\r\n\r\n') === true);
    ends[call.index]?.(revoked);
    await until('the answer', () => call.closed);
    assert.match(call.answer, /^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*ended while this stream was open/);
    await until('the cluster connection to close', () => conns[call.connIndex]?.closed === true);
  });

  it('tells an observer (the audit trail) the 101 and the two sockets, already piped, with the protocol the cluster chose', async () => {
    const call = await open('/echo-now', { headers: { 'x-test-observe': '1' } });
    await until('the 101', () => call.answer.includes('\r\n\r\n'));
    call.caller.write('ping');
    await until('the echo', () => bodyOf(call.answer) === 'ping');
    assert.deepEqual(observed.get(call.index), { statuses: [101], upgraded: { piped: true, protocol: undefined } });
    call.caller.destroy();
  });

  it('tells an observer the subprotocol the cluster chose', async () => {
    const call = await open('/echo-protocol', { headers: { 'x-test-observe': '1' } });
    await until('the 101', () => call.answer.includes('\r\n\r\n'));
    assert.deepEqual(observed.get(call.index)?.upgraded, { piped: true, protocol: 'v5.channel.k8s.io' });
    call.caller.destroy();
  });

  it('works with an observer that implements none of its optional callbacks (101, refusal, ended before the 101)', async () => {
    const upgraded = await open('/echo-now', { headers: { 'x-test-observe': 'partial' } });
    await until('the 101', () => upgraded.answer.includes('\r\n\r\n'));
    upgraded.caller.write('ping');
    await until('the echo', () => bodyOf(upgraded.answer) === 'ping');
    upgraded.caller.destroy();
    const refused = await open('/odd-status', { headers: { 'x-test-observe': 'partial' } });
    await until('the refusal', () => refused.closed);
    assert.match(refused.answer, /^HTTP\/1\.1 599 /);
    const ended = await open('/exec-never', { headers: { 'x-test-observe': 'partial' } });
    await until('the request to reach the cluster', () => conns[ended.connIndex]?.received.includes('\r\n\r\n') === true);
    ends[ended.index]?.(revoked);
    await until('the answer', () => ended.closed);
    assert.match(ended.answer, /^HTTP\/1\.1 403 Forbidden/);
  });

  it('tells an observer the status of a refusal, and of an exchange ended before the 101', async () => {
    const refused = await open('/odd-status', { headers: { 'x-test-observe': '1' } });
    await until('the refusal', () => refused.closed);
    assert.deepEqual(observed.get(refused.index), { statuses: [599] });
    const ended = await open('/exec-never', { headers: { 'x-test-observe': '1' } });
    await until('the request to reach the cluster', () => conns[ended.connIndex]?.received.includes('\r\n\r\n') === true);
    ends[ended.index]?.(revoked);
    await until('the answer', () => ended.closed);
    assert.deepEqual(observed.get(ended.index), { statuses: [403] });
  });

  it('closes both connections, writing nothing into the stream, when access ends after the 101', async () => {
    const call = await open('/echo-now');
    await until('the 101', () => call.answer.includes('\r\n\r\n'));
    ends[call.index]?.(revoked);
    await until('the caller\'s connection to close', () => call.closed);
    assert.equal(call.answer, 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    await until('the cluster connection to close', () => conns[call.connIndex]?.closed === true);
  });

  it('closes the caller\'s connection when the cluster ends the upgraded one, even if the caller keeps its half open', async () => {
    const call = await open('/close-after-101', { allowHalfOpen: true });
    await until('the 101', () => call.answer.includes('\r\n\r\n'));
    call.caller.write('bye');
    await until('the proxy to close the caller\'s side', () => callers[call.index]?.destroyed === true);
    call.caller.destroy();
  });

  it('survives a cluster that resets the upgraded connection, and closes the caller\'s', async () => {
    const call = await open('/reset-after-101');
    await until('the 101', () => call.answer.includes('\r\n\r\n'));
    call.caller.write('x');
    await until('the cluster to stop reading', () => cues.has('/reset-after-101'));
    call.caller.write('unread');
    await new Promise((r) => setTimeout(r, 100));
    cues.get('/reset-after-101')?.();
    cues.delete('/reset-after-101');
    await until('the caller\'s connection to close', () => call.closed);
  });

  it('survives a cluster that resets in the middle of a refusal\'s body, and closes the caller\'s connection', async () => {
    const call = await open('/cut-body');
    await until('the caller\'s connection to close', () => call.closed);
    assert.match(call.answer, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
  });

  it('survives a caller that resets its connection while waiting, and closes the cluster connection', async () => {
    const call = await open('/exec-never');
    await until('the request to reach the cluster', () => conns[call.connIndex]?.received.includes('\r\n\r\n') === true);
    call.caller.resetAndDestroy();
    await until('the cluster connection to close', () => conns[call.connIndex]?.closed === true);
  });

  it('answers 502 naming the cluster when it hangs up without answering', async () => {
    const call = await open('/hangup');
    await until('the answer', () => call.closed);
    assert.match(headOf(call.answer), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.match(bodyOf(call.answer), /upgrade to cluster c-1 failed: /);
  });

  it('answers 502 naming the cluster when the tunnel refuses the dial', async () => {
    const call = await open('/exec', { headers: { 'x-test-dial': 'fail' } });
    await until('the answer', () => call.closed);
    assert.match(headOf(call.answer), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.match(bodyOf(call.answer), /cluster c-1 failed before it answered \(the agent refused the dial\)/);
  });

  it('gives up a dial that hangs when the caller leaves, so the tunnel stream is released', async () => {
    const before = dialSignals.length;
    const call = await open('/exec', { headers: { 'x-test-dial': 'hang' } });
    await until('the dial to start', () => dialSignals.length > before);
    call.caller.destroy();
    await until('the dial to be told to give up', () => dialSignals[before]?.aborted === true);
  });

  it('relays a status line with no reason phrase as it came', async () => {
    const call = await open('/odd-status');
    await until('the answer', () => call.closed);
    assert.equal(call.answer, 'HTTP/1.1 599 \r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  });
});
