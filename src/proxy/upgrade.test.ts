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
          socket.end('HTTP/1.1 302 \r\nSet-Cookie: drover_session=planted\r\nLocation: https://127.0.0.1:' + port + '/api/v1/x?y=1\r\n'
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
    assert.match(answer, /^HTTP\/1\.1 101 /);
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

  it('relays a refused upgrade\'s head without its cookies or connection headers, with a rewritten Location', async () => {
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
    assert.match(head, /\r\nx-dup: 1\r\nx-dup: 2\r\nx-dup: 3\r\n/);
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
