import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http2, { type ServerHttp2Stream } from 'node:http2';
import { PassThrough } from 'node:stream';
import type net from 'node:net';
import { DroverError } from '../errors/index.ts';
import { silentLogger } from '../logging/index.ts';
import { DataDials } from './data-dials.ts';
import { dataProtocol, dialTokenHeader, dialViaHeader, directProtocol } from './protocols.ts';
import { TunnelClient, type TunnelClientOptions } from './tunnel-client.ts';
import { offerUpgrade } from './upgrade-offer.ts';
import {
  rawUpgrade, startTarget, testAuthenticate, tunnelTestKit, until, type TestTarget, type TunnelHarness,
} from '../testing/index.ts';
import type { SessionInfo } from './types.ts';

const { pki, unique, cleanups, harnessFor } = tunnelTestKit();

async function echoTarget(): Promise<TestTarget> {
  const target = await startTarget((socket) => socket.pipe(socket));
  cleanups.push(() => target.close());
  return target;
}

/** Starts a real agent for `clusterId` and waits for its session. */
async function agentUp(h: TunnelHarness, clusterId: string, extra: Partial<TunnelClientOptions> = {}): Promise<TunnelClient> {
  const client = new TunnelClient({
    serverUrl: h.url, ca: pki.caPem, headers: () => ({ 'x-test-token': `cluster:${clusterId}` }), allow: () => true,
    logger: silentLogger(), backoff: { initialMs: 50, maxMs: 400 }, ...extra,
  });
  cleanups.push(() => client.destroy());
  const up = new Promise<void>((resolve) => { const off = h.tunnel.on('session-up', (info) => { if (info.identity.clusterId === clusterId) { off(); resolve(); } }); });
  client.start();
  await up;
  return client;
}

async function roundTrip(stream: NodeJS.ReadWriteStream, text: string): Promise<string> {
  const echoed = new Promise<string>((resolve) => stream.once('data', (c: Buffer) => resolve(c.toString('utf8'))));
  stream.write(text);
  return echoed;
}

/**
 * An agent written by hand, as an impostor or a broken agent would behave: it holds a
 * direct session for `clusterId` and hands every CONNECT it receives to `onConnect`.
 */
async function handMadeAgent(h: TunnelHarness, clusterId: string, onConnect: (stream: ServerHttp2Stream, token: string) => void): Promise<void> {
  const offer = offerUpgrade(new URL(`${h.url}/v3/connect`), { protocol: directProtocol, headers: { 'x-test-token': `cluster:${clusterId}` }, ca: pki.caPem, timeoutMs: 5_000 });
  const outcome = await offer.outcome;
  assert.equal(outcome.type, 'upgraded');
  if (outcome.type !== 'upgraded') return;
  const up = new Promise<void>((resolve) => { const off = h.tunnel.on('session-up', () => { off(); resolve(); }); });
  const session = http2.performServerHandshake(outcome.socket);
  cleanups.push(() => { session.destroy(); outcome.socket.destroy(); });
  session.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    onConnect(stream, String(headers[dialTokenHeader] ?? ''));
  });
  await up;
}

describe('a dial on a connection of its own', { timeout: 60_000 }, () => {
  it('carries a direct session\'s dials on their own connections, bytes intact both ways, through one more upgrade each', async () => {
    const h = await harnessFor();
    const target = await echoTarget();
    const cluster = unique();
    await agentUp(h, cluster);
    const payloads = Array.from({ length: 20 }, (_, i) => randomBytes(5_000 + i * 3_001));
    const streams = await Promise.all(payloads.map(() => h.tunnel.dial(cluster, target.address)));
    for (const stream of streams) assert.equal(stream.carrier, 'connection');
    assert.equal(h.upgrades.filter((u) => u === dataProtocol).length, 20);
    const echoed = await Promise.all(streams.map((stream, i) => new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.end(payloads[i]);
    })));
    echoed.forEach((got, i) => assert.ok(got.equals(payloads[i] ?? Buffer.alloc(0)), `connection ${i} corrupted`));
  });

  it('keeps dials on their streams when the agent is told not to open connections, or its session runs in a WebSocket', async () => {
    const h = await harnessFor();
    const target = await echoTarget();
    const off = unique();
    await agentUp(h, off, { dataConnections: false });
    const onStream = await h.tunnel.dial(off, target.address);
    assert.equal(onStream.carrier, 'stream');
    assert.equal(await roundTrip(onStream, 'ping'), 'ping');
    onStream.destroy();
    const ws = unique();
    await agentUp(h, ws, { transport: 'websocket' });
    const inWebSocket = await h.tunnel.dial(ws, target.address);
    assert.equal(inWebSocket.carrier, 'stream');
    inWebSocket.destroy();
    assert.equal(h.upgrades.includes(dataProtocol), false);
  });

  it('keeps a dial that asks for no connection of its own (a watch) on its stream, the session\'s next dial still getting one', async () => {
    const h = await harnessFor();
    const target = await echoTarget();
    const cluster = unique();
    await agentUp(h, cluster);
    const watch = await h.tunnel.dial(cluster, target.address, { ownConnection: false });
    assert.equal(watch.carrier, 'stream');
    assert.equal(await roundTrip(watch, 'waits'), 'waits');
    assert.equal(h.upgrades.includes(dataProtocol), false, 'a connection was opened for a dial that asked for none');
    const request = await h.tunnel.dial(cluster, target.address);
    assert.equal(request.carrier, 'connection');
    watch.destroy();
    request.destroy();
  });

  it('falls back to the dial\'s stream when something refuses its connection', async () => {
    // As a proxy in front of the server might: sessions pass, dials' connections do not.
    const h = await harnessFor({
      authenticate: (req) => req.headers.upgrade === dataProtocol
        ? Promise.reject(new DroverError('DRV_ERR_FORBIDDEN', 'no')) : testAuthenticate(req),
    });
    const target = await echoTarget();
    const cluster = unique();
    await agentUp(h, cluster);
    const stream = await h.tunnel.dial(cluster, target.address);
    assert.equal(stream.carrier, 'stream');
    assert.equal(await roundTrip(stream, 'still works'), 'still works');
    stream.destroy();
    // Each refused try cost a handshake on both ends: after 3, the session stops asking.
    for (let i = 0; i < 5; i += 1) {
      const next = await h.tunnel.dial(cluster, target.address);
      assert.equal(next.carrier, 'stream');
      next.destroy();
    }
    assert.equal(h.upgrades.filter((u) => u === dataProtocol).length, 3, 'three connections offered, then none');
  });

  it('hands a connection only to the dial its token names, for the agent of that very session, once', async () => {
    const h = await harnessFor();
    const cluster = unique();
    const other = unique();
    const attempts: Record<string, number> = {};
    let answered!: (token: string) => void;
    const tokenSeen = new Promise<string>((resolve) => { answered = resolve; });
    await handMadeAgent(h, cluster, (stream, token) => {
      answered(token);
      void (async () => {
        const tries: [string, Record<string, string>][] = [
          ['no credentials', { Upgrade: dataProtocol, [dialTokenHeader]: token }],
          ['another cluster\'s agent', { Upgrade: dataProtocol, [dialTokenHeader]: token, 'x-test-token': `cluster:${other}` }],
          ['a node agent of the same cluster', { Upgrade: dataProtocol, [dialTokenHeader]: token, 'x-test-token': `node:${cluster}:n1` }],
          ['a guessed token', { Upgrade: dataProtocol, [dialTokenHeader]: randomBytes(24).toString('base64url'), 'x-test-token': `cluster:${cluster}` }],
          ['no token', { Upgrade: dataProtocol, 'x-test-token': `cluster:${cluster}` }],
        ];
        for (const [what, headers] of tries) attempts[what] = (await rawUpgrade(h.url, pki.caPem, headers)).status;
        const good = await rawUpgrade(h.url, pki.caPem, { Upgrade: dataProtocol, [dialTokenHeader]: token, 'x-test-token': `cluster:${cluster}` });
        attempts.legitimate = good.status;
        attempts.again = (await rawUpgrade(h.url, pki.caPem, { Upgrade: dataProtocol, [dialTokenHeader]: token, 'x-test-token': `cluster:${cluster}` })).status;
        stream.respond({ ':status': 200, [dialViaHeader]: 'connection' });
        // The agent's end of the connection echoes, as a target behind it would.
        good.socket?.pipe(good.socket);
      })();
    });
    const stream = await h.tunnel.dial(cluster, '10.0.0.1:443');
    assert.ok((await tokenSeen).length >= 32, 'the token is too short to be unguessable');
    assert.deepEqual(attempts, {
      'no credentials': 401, 'another cluster\'s agent': 404, 'a node agent of the same cluster': 404,
      'a guessed token': 404, 'no token': 400, legitimate: 101, again: 404,
    });
    assert.equal(stream.carrier, 'connection');
    assert.equal(await roundTrip(stream, 'through the connection'), 'through the connection');
    stream.destroy();
  });

  it('fails the dial, and leaves nothing waiting, when an agent claims a connection it never opened', async () => {
    const h = await harnessFor();
    const cluster = unique();
    await handMadeAgent(h, cluster, (stream) => stream.respond({ ':status': 200, [dialViaHeader]: 'connection' }));
    await assert.rejects(h.tunnel.dial(cluster, '10.0.0.1:443'), (error: unknown) => {
      assert.ok(error instanceof DroverError);
      assert.equal(error.code, 'DRV_ERR_BAD_GATEWAY');
      assert.match(error.message, /has its own connection, but none arrived/);
      return true;
    });
  });

  it('delivers every byte a target sent before it reset, then fails with the reset, whichever arrives first', async () => {
    const h = await harnessFor();
    const payload = randomBytes(4 * 1024 * 1024);
    // Sends it all, then resets (RST) a moment later, once the agent has read it.
    const target = await startTarget((socket) => { socket.write(payload, () => setTimeout(() => socket.resetAndDestroy(), 200)); });
    cleanups.push(() => target.close());
    const cluster = unique();
    await agentUp(h, cluster);
    const stream = await h.tunnel.dial(cluster, target.address);
    assert.equal(stream.carrier, 'connection');
    let failure: Error | undefined;
    stream.on('error', (error) => { failure = error; });
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
    stream.pause();
    // Read nothing until the reset has long reached the server on the session: the bytes are still on the connection.
    await new Promise((r) => setTimeout(r, 1000));
    let received = 0;
    stream.on('data', (c: Buffer) => { received += c.length; });
    stream.resume();
    await closed;
    assert.equal(received, payload.length, 'every byte the target sent arrived');
    assert.ok(failure, 'and then the reset, as an error: not a clean end');
    assert.match(failure.message, /the target reset its connection/);
  });

  it('closes the dials\' connections with their session, on both sides', async () => {
    const h = await harnessFor();
    const targetSockets: net.Socket[] = [];
    const target = await startTarget((socket) => { targetSockets.push(socket); socket.pipe(socket); });
    cleanups.push(() => target.close());
    const cluster = unique();
    await agentUp(h, cluster);
    const stream = await h.tunnel.dial(cluster, target.address);
    assert.equal(stream.carrier, 'connection');
    assert.equal(await roundTrip(stream, 'ping'), 'ping');
    const serverSideClosed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
    stream.on('error', () => undefined);
    const session = h.tunnel.sessionFor(cluster);
    assert.ok(session);
    session.destroy({ type: 'protocol-error', message: 'test' });
    await serverSideClosed;
    await until('the target connection closed by the agent', () => targetSockets.every((s) => s.destroyed));
  });

  it('never hands a waiting dial\'s connection to a session of another identity (the registry on its own)', () => {
    const dials = new DataDials();
    const cluster: SessionInfo['identity'] = { clusterId: 'c-a', kind: 'cluster' };
    const token = dials.expect(cluster);
    const switched = (): Promise<net.Socket> => Promise.resolve(new PassThrough() as unknown as net.Socket);
    assert.equal(dials.deliver(token, { clusterId: 'c-b', kind: 'cluster' }, switched), false);
    assert.equal(dials.deliver(token, { clusterId: 'c-a', kind: 'node', nodeName: 'n1' }, switched), false);
    assert.equal(dials.deliver(`${token}x`, cluster, switched), false);
    assert.equal(dials.deliver(token, cluster, switched), true);
    assert.equal(dials.deliver(token, cluster, switched), false, 'a second connection for one dial');
    assert.ok(dials.take(token));
    assert.equal(dials.take(token), undefined);
    assert.equal(dials.size, 0);
    const forgotten = dials.expect(cluster);
    let destroyed = false;
    dials.deliver(forgotten, cluster, () => Promise.resolve({ destroy: () => { destroyed = true; } } as unknown as net.Socket));
    dials.forget(forgotten);
    assert.equal(dials.size, 0);
    return until('a delivered but unclaimed connection closed', () => destroyed);
  });
});
