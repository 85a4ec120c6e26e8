import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { carriesBytes, watchPeer } from './liveness.ts';
import { realClock } from './types.ts';

const cleanups: (() => void)[] = [];
after(() => { for (const c of cleanups.reverse()) c(); });

/**
 * An HTTP/2 session to a peer that answers PINGs and takes any upload, through a relay
 * whose `stopReading` leaves the peer alive but reading nothing: the kernel's buffers
 * fill and the session's writes stop leaving, as they do after Node drops a write's EPIPE.
 */
async function sessionToPeer(): Promise<{ h2: ClientHttp2Session; socket: net.Socket; stopReading: () => void }> {
  const window = 64 * 1024 * 1024;
  const peer = http2.createServer({ settings: { initialWindowSize: window } }, (req, res) => { req.resume(); req.on('end', () => res.end()); });
  const sessions: http2.ServerHttp2Session[] = [];
  peer.on('session', (session) => { sessions.push(session); session.on('connect', () => session.setLocalWindowSize(window)); });
  peer.listen(0, '127.0.0.1');
  await once(peer, 'listening');
  const inbound: net.Socket[] = [];
  const sockets: net.Socket[] = [];
  const relay = net.createServer((from) => {
    inbound.push(from);
    const to = net.connect((peer.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(from, to);
    from.pipe(to).pipe(from);
    from.on('error', () => undefined);
    to.on('error', () => undefined);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const socket = net.connect((relay.address() as AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  const h2 = http2.connect('http://peer', { createConnection: () => socket });
  h2.on('error', () => undefined);
  await once(h2, 'remoteSettings');
  cleanups.push(() => {
    h2.destroy();
    for (const s of [socket, ...sockets]) s.destroy();
    for (const s of sessions) s.destroy();
    relay.close();
    peer.close();
  });
  return { h2, socket, stopReading: () => { for (const s of inbound) s.pause(); } };
}

/** Starts an upload far larger than what the kernel buffers between the two ends. */
function upload(h2: ClientHttp2Session): ClientHttp2Stream {
  const stream = h2.request({ ':method': 'POST', ':path': '/' });
  stream.on('error', () => undefined);
  stream.end(Buffer.alloc(48 * 1024 * 1024));
  return stream;
}

describe('tunnel liveness', () => {
  it('declares a peer dead once frames wait and no byte leaves for the stall limit, long before the PING timeout', async () => {
    const { h2, socket, stopReading } = await sessionToPeer();
    const dead = new Promise<number>((resolve) => watchPeer(h2, {
      connection: socket, keepaliveIntervalMs: 100, deadPeerTimeoutMs: 30_000, stalledWriteMs: 300, clock: realClock, onDead: resolve,
    }));
    stopReading();
    const startedAt = Date.now();
    upload(h2);
    const stalledMs = await dead;
    assert.ok(stalledMs >= 300, `declared dead after a stall of only ${stalledMs} ms`);
    assert.ok(Date.now() - startedAt < 10_000, 'the stall was noticed only after 10 s');
  });

  it('leaves alone a session whose dial is moving bytes, however long one write takes', async () => {
    const { h2, socket, stopReading } = await sessionToPeer();
    let declared: number | undefined;
    const stop = watchPeer(h2, {
      connection: socket, keepaliveIntervalMs: 100, deadPeerTimeoutMs: 30_000, stalledWriteMs: 300, clock: realClock,
      onDead: (ms) => { declared = ms; },
    });
    stopReading();
    carriesBytes(upload(h2));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.ok(h2.state.outboundQueueSize, 'the test did not stall the session');
    assert.equal(declared, undefined);
    stop();
  });

  it('still declares the peer dead when the dials on its streams have nothing of their own waiting (watches)', async () => {
    const { h2, socket, stopReading } = await sessionToPeer();
    const dead = new Promise<number>((resolve) => watchPeer(h2, {
      connection: socket, keepaliveIntervalMs: 100, deadPeerTimeoutMs: 30_000, stalledWriteMs: 300, clock: realClock, onDead: resolve,
    }));
    const watch = h2.request({ ':method': 'POST', ':path': '/' });
    watch.on('error', () => undefined);
    carriesBytes(watch);
    stopReading();
    upload(h2);
    assert.ok(await dead >= 300);
  });

  it('keeps a busy session whose peer reads, however short the stall limit', async () => {
    const { h2, socket } = await sessionToPeer();
    let declared: number | undefined;
    const stop = watchPeer(h2, {
      connection: socket, keepaliveIntervalMs: 20, deadPeerTimeoutMs: 30_000, stalledWriteMs: 150, clock: realClock,
      onDead: (ms) => { declared = ms; },
    });
    // Small exchanges back to back for a second: frames wait to leave often, never for long.
    const until = Date.now() + 1_000;
    while (Date.now() < until) {
      await Promise.all(Array.from({ length: 20 }, async () => {
        const stream = h2.request({ ':method': 'POST', ':path': '/' });
        stream.on('error', () => undefined);
        stream.end(Buffer.alloc(2_048));
        stream.resume();
        await once(stream, 'close');
      }));
    }
    assert.equal(declared, undefined);
    stop();
  });

  it('watches no writes on a stream that counts no bytes (a WebSocket)', async () => {
    const { h2, stopReading } = await sessionToPeer();
    let declared: number | undefined;
    const { PassThrough } = await import('node:stream');
    const stop = watchPeer(h2, {
      connection: new PassThrough(), keepaliveIntervalMs: 100, deadPeerTimeoutMs: 30_000, stalledWriteMs: 200, clock: realClock,
      onDead: (ms) => { declared = ms; },
    });
    stopReading();
    upload(h2);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.equal(declared, undefined);
    stop();
  });
});
