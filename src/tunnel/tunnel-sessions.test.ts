import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { DroverError } from '../errors/index.ts';
import { silentLogger } from '../logging/index.ts';
import { fetchPinnedCa } from './ca-pin.ts';
import { dataProtocol, directProtocol, protocolsHeader } from './protocols.ts';
import { TunnelClient, type DisconnectReason, type TunnelClientOptions } from './tunnel-client.ts';
import { makeTestPki, rawUpgrade, startRelay, startTarget, tunnelTestKit, until, type TunnelHarness } from '../testing/index.ts';
import type { SessionEndReason, SessionInfo } from './types.ts';

const { pki, unique, cleanups, harnessFor } = tunnelTestKit();

function agent(h: TunnelHarness, token: string, extra: Partial<TunnelClientOptions> = {}): TunnelClient {
  const client = new TunnelClient({
    serverUrl: h.url, ca: pki.caPem, headers: () => ({ 'x-test-token': token }), allow: () => true,
    logger: silentLogger(), backoff: { initialMs: 50, maxMs: 400 }, ...extra,
  });
  cleanups.push(() => client.destroy());
  return client;
}

function record(h: TunnelHarness): { up: SessionInfo[]; down: [SessionInfo, SessionEndReason][]; order: string[] } {
  const log = { up: [] as SessionInfo[], down: [] as [SessionInfo, SessionEndReason][], order: [] as string[] };
  h.tunnel.on('session-up', (info) => { log.up.push(info); log.order.push(`up:${info.id}`); });
  h.tunnel.on('session-down', (info, reason) => { log.down.push([info, reason]); log.order.push(`down:${info.id}:${reason.type}`); });
  return log;
}

function nextDisconnect(client: TunnelClient): Promise<DisconnectReason> {
  return new Promise((resolve) => { const off = client.on('disconnected', (r) => { off(); resolve(r); }); });
}

describe('tunnel sessions', { timeout: 60_000 }, () => {
  it('refuses an unauthenticated upgrade with a plain 401 and never switches protocols', async () => {
    const h = await harnessFor();
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(`${h.url}/v3/connect`, {
        ca: pki.caPem,
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'x-test-token': 'nonsense' },
      });
      req.on('upgrade', () => reject(new Error('the server upgraded an unauthenticated request')));
      req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 401);
    const client = agent(h, 'bogus');
    const reason = nextDisconnect(client);
    client.start();
    assert.deepEqual(await reason, { type: 'refused', status: 401, message: 'unknown tunnel token' });
    assert.equal(h.tunnel.sessions().length, 0);
  });

  it('binds a session to the authenticated cluster: it cannot serve another cluster', async () => {
    const h = await harnessFor();
    const [a, b] = [unique(), unique()];
    const target = await startTarget();
    cleanups.push(() => target.close());
    const client = agent(h, `cluster:${a}`, { headers: () => ({ 'x-test-token': `cluster:${a}`, 'x-cluster-id': b }) });
    const up = new Promise<SessionInfo>((resolve) => h.tunnel.on('session-up', resolve));
    client.start();
    assert.equal((await up).identity.clusterId, a);
    await assert.rejects(h.tunnel.dial(b, target.address), { code: 'DRV_ERR_CLUSTER_UNAVAILABLE' });
    assert.equal((await h.tunnel.dial(a, target.address)).via.identity.clusterId, a);
    assert.deepEqual(h.tunnel.sessions().map((s) => s.identity.clusterId), [a]);
  });

  it('keeps two agents of one cluster side by side: dials use the newest, losing one fails only its own streams', async () => {
    const h = await harnessFor();
    const log = record(h);
    const id = unique();
    const target = await startTarget();
    cleanups.push(() => target.close());
    const first = agent(h, `cluster:${id}`);
    first.start();
    await until('first session', () => log.up.length === 1);
    const onFirst = await h.tunnel.dial(id, target.address);
    const second = agent(h, `cluster:${id}`);
    second.start();
    await until('second session', () => log.up.length === 2);
    assert.equal(log.down.length, 0, 'a second session must not replace the first');
    assert.equal(h.tunnel.sessionsOf(id).length, 2);
    const onSecond = await h.tunnel.dial(id, target.address);
    assert.equal(onSecond.via.id, log.up[1]?.id);
    // The second agent goes: its stream fails, the first agent's stream still echoes, and new dials use the first.
    const secondFailed = new Promise<void>((resolve) => { onSecond.on('error', () => resolve()); onSecond.on('close', () => resolve()); onSecond.resume(); });
    second.destroy();
    await secondFailed;
    await until('second session down', () => log.down.length === 1);
    const echoed = new Promise<string>((resolve) => onFirst.once('data', (d: Buffer) => resolve(d.toString())));
    onFirst.write('first still works');
    assert.equal(await echoed, 'first still works');
    assert.equal((await h.tunnel.dial(id, target.address)).via.id, log.up[0]?.id);
    onFirst.destroy();
  });

  it('uses no session the owner has not admitted, and a refused agent backs off further each time', async () => {
    let admissions = 0;
    const h = await harnessFor({ admit: () => { admissions += 1; return Promise.reject(new Error('reports another kube-apiserver')); } });
    const log = record(h);
    const id = unique();
    const client = agent(h, `cluster:${id}`, { random: () => 0.999999, backoff: { initialMs: 20, maxMs: 160 } });
    const waits: (number | undefined)[] = [];
    client.on('disconnected', (_r, retryInMs) => waits.push(retryInMs));
    client.start();
    await until('five refusals', () => waits.length >= 5);
    assert.ok(admissions >= 5);
    assert.deepEqual(waits.slice(0, 5), [19, 39, 79, 159, 159]);
    assert.equal(log.up.length, 0);
    await assert.rejects(h.tunnel.dial(id, '127.0.0.1:1'), { code: 'DRV_ERR_CLUSTER_UNAVAILABLE' });
  });

  it('prefers the cluster agent and falls back to a node agent when it is gone', async () => {
    const h = await harnessFor();
    const log = record(h);
    const id = unique();
    const target = await startTarget();
    cleanups.push(() => target.close());
    const node = agent(h, `node:${id}:worker-1`);
    const cluster = agent(h, `cluster:${id}`);
    node.start();
    await until('node session', () => log.up.length === 1);
    cluster.start();
    await until('cluster session', () => log.up.length === 2);
    const viaCluster = await h.tunnel.dial(id, target.address);
    assert.equal(viaCluster.via.identity.kind, 'cluster');
    viaCluster.destroy();
    await cluster.close();
    await until('cluster session down', () => log.down.length === 1);
    assert.equal(log.down[0]?.[1].type, 'closed-by-agent');
    const viaNode = await h.tunnel.dial(id, target.address);
    assert.deepEqual(viaNode.via.identity, { clusterId: id, kind: 'node', nodeName: 'worker-1' });
    viaNode.destroy();
  });

  it('fails an in-flight stream when its agent goes away, and reports the session down', async () => {
    const h = await harnessFor();
    const log = record(h);
    const id = unique();
    const target = await startTarget();
    cleanups.push(() => target.close());
    const client = agent(h, `cluster:${id}`, { backoff: { initialMs: 10_000, maxMs: 10_000 } });
    client.start();
    await until('up', () => log.up.length === 1);
    const stream = await h.tunnel.dial(id, target.address);
    const ended = new Promise<Error | undefined>((resolve) => {
      stream.on('error', resolve);
      stream.on('close', () => resolve(undefined));
      stream.resume();
    });
    client.destroy();
    const error = await ended;
    assert.ok(error !== undefined || stream.destroyed, 'the stream neither failed nor closed');
    await until('session down', () => log.down.length === 1);
    assert.equal(log.down[0]?.[1].type, 'closed-by-agent');
    await assert.rejects(h.tunnel.dial(id, target.address), { code: 'DRV_ERR_CLUSTER_UNAVAILABLE' });
  });

  for (const transport of ['auto', 'websocket'] as const) it(`notices a silently dead link on both sides within the configured timeout (${transport})`, async () => {
    const h = await harnessFor({ keepaliveIntervalMs: 100, deadPeerTimeoutMs: 600 });
    const relay = await startRelay(h.port);
    cleanups.push(() => relay.close());
    const log = record(h);
    const client = agent(h, `cluster:${unique()}`, {
      serverUrl: `https://127.0.0.1:${relay.port}`, headers: () => ({ 'x-test-token': `cluster:${unique()}`, host: '127.0.0.1' }),
      keepaliveIntervalMs: 100, deadPeerTimeoutMs: 600, backoff: { initialMs: 10_000, maxMs: 10_000 }, transport,
    });
    client.start();
    await until('session up', () => log.up.length === 1);
    const clientSide = nextDisconnect(client);
    const silencedAt = Date.now();
    relay.silence();
    await until('server notices', () => log.down.length === 1, 5_000);
    const serverMs = Date.now() - silencedAt;
    const reason = await clientSide;
    const clientMs = Date.now() - silencedAt;
    assert.equal(log.down[0]?.[1].type, 'dead-peer');
    assert.equal(reason.type, 'dead-peer');
    assert.ok(serverMs < 600 + 100 + 1500, `server took ${serverMs} ms`);
    assert.ok(clientMs < 600 + 100 + 1500, `agent took ${clientMs} ms`);
  });

  it('reconnects by itself after the server restarts, with backoff between attempts', async () => {
    const h = await harnessFor();
    const id = unique();
    const client = agent(h, `cluster:${id}`, { backoff: { initialMs: 100, maxMs: 400 } });
    const waits: (number | undefined)[] = [];
    client.on('disconnected', (_r, retryInMs) => waits.push(retryInMs));
    let connects = 0;
    client.on('connected', () => { connects += 1; });
    client.start();
    await until('connected', () => connects === 1);
    await h.stop();
    await new Promise((r) => setTimeout(r, 800)); // a few refused attempts while it is down
    await h.restart();
    await until('reconnected', () => connects === 2 && h.tunnel.sessions().length === 1, 5_000);
    assert.ok(waits.length >= 2, `expected several attempts, got ${waits.length}`);
    assert.ok(waits.every((w) => w !== undefined && w >= 0 && w <= 400), `waits out of range: ${waits.join(',')}`);
    assert.ok(client.connected);
  });

  it('ends a session that sends garbage, text or oversized frames, and keeps serving others', async () => {
    const h = await harnessFor();
    const log = record(h);
    const good = agent(h, `cluster:${unique()}`);
    good.start();
    await until('good session', () => log.up.length === 1);
    const attacks: ((ws: WebSocket) => void)[] = [
      (ws) => ws.send(randomBytes(4096)),
      (ws) => ws.send('PRI * HTTP/2.0 text frame'),
      (ws) => ws.send(Buffer.alloc(2 * 1024 * 1024)),
    ];
    for (const attack of attacks) {
      const ws = new WebSocket(`wss://127.0.0.1:${h.port}/v3/connect`, { ca: pki.caPem, headers: { 'x-test-token': `cluster:${unique()}` } });
      ws.on('error', () => undefined);
      await new Promise((resolve) => ws.on('open', resolve));
      attack(ws);
      await new Promise((resolve) => ws.on('close', resolve));
    }
    assert.equal(log.up.length, 1);
    assert.equal(h.tunnel.sessions().length, 1);
    const session = h.tunnel.sessionFor(log.up[0]?.identity.clusterId ?? '');
    assert.equal((await session?.request('GET', '/nothing'))?.status, 404);
  });

  it('drops a server that sends garbage and retries, without crashing the agent', async () => {
    const server = https.createServer({ cert: pki.certPem, key: pki.keyPem });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.send(randomBytes(2048)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => { wss.close(); server.closeAllConnections(); server.close(() => resolve()); }));
    const client = new TunnelClient({
      serverUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ca: pki.caPem, headers: () => ({}),
      allow: () => true, logger: silentLogger(), backoff: { initialMs: 50, maxMs: 100 },
    });
    cleanups.push(() => client.destroy());
    const reasons: DisconnectReason[] = [];
    client.on('disconnected', (r) => reasons.push(r));
    client.start();
    await until('two attempts', () => reasons.length >= 2);
    assert.equal(reasons[0]?.type, 'protocol-error');
  });

  it('refuses a server whose certificate does not chain to the pinned CA', async () => {
    const h = await harnessFor();
    const other = makeTestPki();
    const client = agent(h, `cluster:${unique()}`, { ca: other.caPem });
    const reason = nextDisconnect(client);
    client.start();
    const r = await reason;
    assert.equal(r.type, 'error');
    assert.match(r.type === 'error' ? r.message : '', /certificate/);
    assert.equal(h.tunnel.sessions().length, 0);
  });

  it('fetches the CA only when its checksum matches', async () => {
    const h = await harnessFor();
    const good = createHash('sha256').update(pki.caPem).digest('hex');
    assert.equal(await fetchPinnedCa(h.url, good.toUpperCase()), pki.caPem);
    const bad = createHash('sha256').update('something else').digest('hex');
    await assert.rejects(fetchPinnedCa(h.url, bad), (error: unknown) => {
      assert.ok(error instanceof DroverError);
      assert.equal(error.code, 'DRV_ERR_CA_CHECKSUM_MISMATCH');
      assert.match(error.message, /does not match --ca-checksum/);
      return true;
    });
    await assert.rejects(fetchPinnedCa(h.url, 'abc'), { code: 'DRV_ERR_INVALID_ARGUMENT' });
  });

  it('fails every operation after close with session-closed, and close is idempotent', async () => {
    const h = await harnessFor();
    const log = record(h);
    const id = unique();
    const client = agent(h, `cluster:${id}`);
    client.start();
    await until('up', () => log.up.length === 1);
    await h.tunnel.close();
    await h.tunnel.close();
    h.tunnel.destroy();
    await assert.rejects(h.tunnel.dial(id, '127.0.0.1:1'), { code: 'DRV_ERR_SESSION_CLOSED' });
    assert.equal(h.tunnel.sessionFor(id), undefined);
    assert.deepEqual(log.down.map(([, r]) => r.type), ['server-closing']);
  });
});

function nextUp(h: TunnelHarness): Promise<SessionInfo> {
  return new Promise((resolve) => { const off = h.tunnel.on('session-up', (info) => { off(); resolve(info); }); });
}

/** What an echo target sends back through a stream dialled to it. */
async function echo(h: TunnelHarness, clusterId: string, address: string, text: string): Promise<string> {
  const stream = await h.tunnel.dial(clusterId, address);
  const echoed = new Promise<string>((resolve) => stream.once('data', (c: Buffer) => resolve(c.toString('utf8'))));
  stream.write(text);
  const answer = await echoed;
  stream.destroy();
  return answer;
}

/** An upgrade request as an attacker would make it; resolves with the status and headers of the answer. */
async function upgrade(h: TunnelHarness, headers: Record<string, string>): ReturnType<typeof rawUpgrade> {
  const answer = await rawUpgrade(h.url, pki.caPem, headers);
  answer.socket?.destroy();
  return answer;
}

describe('tunnel transports', { timeout: 60_000 }, () => {
  it('runs HTTP/2 straight on the upgraded socket when the server speaks it, with one upgrade request', async () => {
    const h = await harnessFor();
    const target = await startTarget((socket) => socket.pipe(socket));
    cleanups.push(() => target.close());
    const id = unique();
    const up = nextUp(h);
    agent(h, `cluster:${id}`).start();
    assert.equal((await up).transport, 'direct');
    assert.deepEqual(h.upgrades, [directProtocol]);
    assert.equal(await echo(h, id, target.address, 'ping'), 'ping');
  });

  it('falls back to the WebSocket when a proxy refuses the direct upgrade, and carries streams over it', async () => {
    const h = await harnessFor({ websocketOnly: true });
    const target = await startTarget((socket) => socket.pipe(socket));
    cleanups.push(() => target.close());
    const id = unique();
    const up = nextUp(h);
    const client = agent(h, `cluster:${id}`);
    client.start();
    assert.equal((await up).transport, 'websocket');
    assert.deepEqual(h.upgrades, [directProtocol, 'websocket']);
    await until('agent connected', () => client.connected);
    assert.equal(await echo(h, id, target.address, 'pong'), 'pong');
  });

  it('takes a refusal from a server that understood the offer as final: no WebSocket attempt after a 401', async () => {
    const h = await harnessFor();
    const client = agent(h, 'bogus', { backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const reason = new Promise<DisconnectReason>((resolve) => client.on('disconnected', resolve));
    client.start();
    assert.deepEqual(await reason, { type: 'refused', status: 401, message: 'unknown tunnel token' });
    assert.deepEqual(h.upgrades, [directProtocol]);
  });

  it('skips the offer when told to use the WebSocket only', async () => {
    const h = await harnessFor();
    const up = nextUp(h);
    agent(h, `cluster:${unique()}`, { transport: 'websocket' }).start();
    assert.equal((await up).transport, 'websocket');
    assert.deepEqual(h.upgrades, ['websocket']);
  });

  it('refuses an unauthenticated direct upgrade with a plain 401 and never switches protocols', async () => {
    const h = await harnessFor();
    const answer = await upgrade(h, { Upgrade: directProtocol, 'x-test-token': 'nonsense' });
    assert.equal(answer.status, 401);
    assert.equal(answer.headers[protocolsHeader], `${directProtocol}, ${dataProtocol}, websocket`);
    assert.equal(h.tunnel.sessions().length, 0);
  });

  it('answers another version of the protocol, or an unknown upgrade, with a 400 that names what it speaks, never a 101', async () => {
    const h = await harnessFor();
    const newer = await upgrade(h, { Upgrade: 'drover-tunnel-h2/9', 'x-test-token': `cluster:${unique()}` });
    assert.equal(newer.status, 400);
    assert.match(newer.body, /drover-tunnel-h2\/9, which this server does not speak; this server speaks drover-tunnel-h2\/1, drover-tunnel-data\/1, websocket/);
    assert.equal(newer.headers[protocolsHeader], `${directProtocol}, ${dataProtocol}, websocket`);
    const other = await upgrade(h, { Upgrade: 'h2c', 'x-test-token': `cluster:${unique()}` });
    assert.equal(other.status, 400);
    assert.equal(h.tunnel.sessions().length, 0);
  });

  it('holds at most maxPendingPerCluster sessions of one cluster waiting for admission; more get 429, other clusters still connect', async () => {
    let admissions = 0;
    const h = await harnessFor({ maxPendingPerCluster: 2, admit: () => { admissions += 1; return new Promise<void>(() => undefined); } });
    const token = `cluster:${unique()}`;
    for (const client of [agent(h, token), agent(h, token)]) client.start();
    await until('two sessions waiting for admission', () => admissions === 2);
    const third = await upgrade(h, { Upgrade: directProtocol, 'x-test-token': token });
    assert.equal(third.status, 429);
    assert.match(third.body, /2 sessions of this cluster are already waiting for admission/);
    agent(h, `cluster:${unique()}`).start();
    await until('another cluster\'s session admitted', () => admissions === 3);
  });

  it('ends a direct session that sends garbage, even inside its upgrade request, and keeps serving others', async () => {
    const h = await harnessFor();
    const good = agent(h, `cluster:${unique()}`);
    const up = nextUp(h);
    good.start();
    const goodInfo = await up;
    const request = (token: string): string => `GET /v3/connect HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: ${directProtocol}\r\nx-test-token: ${token}\r\n\r\n`;
    const attacks: ((socket: tls.TLSSocket) => void)[] = [
      // garbage where the HTTP/2 preface belongs, in the same write as the request (the upgrade's `head`)
      (socket) => socket.write(Buffer.concat([Buffer.from(request(`cluster:${unique()}`)), randomBytes(4096)])),
      // garbage once switched
      (socket) => {
        socket.write(request(`cluster:${unique()}`));
        socket.once('data', () => socket.write(randomBytes(4096)));
      },
      // a valid server preface (SETTINGS), then a frame far larger than the agreed maximum
      (socket) => {
        socket.write(request(`cluster:${unique()}`));
        socket.once('data', () => {
          const huge = Buffer.alloc(9 + 1024);
          huge.writeUIntBE(16 * 1024 * 1024 - 1, 0, 3);
          socket.write(Buffer.concat([Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), huge]));
        });
      },
    ];
    for (const attack of attacks) {
      const socket = tls.connect({ host: '127.0.0.1', port: h.port, ca: pki.caPem });
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('secureConnect', resolve));
      attack(socket);
      socket.resume();
      await new Promise((resolve) => socket.once('close', resolve));
    }
    assert.deepEqual(h.tunnel.sessions().map((s) => s.id), [goodInfo.id]);
    assert.equal((await h.tunnel.sessionFor(goodInfo.identity.clusterId)?.request('GET', '/nothing'))?.status, 404);
  });
});
