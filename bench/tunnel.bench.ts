/**
 * The reverse tunnel, side by side in one run:
 *   1. bulk throughput (a 64 MiB byte source and a large LIST from a real
 *      kube-apiserver) and small-request latency (GET /version) through the tunnel
 *      vs direct loopback TCP, plus the same byte source over a bare WebSocket with
 *      no multiplexing and no flow control: the ceiling for any home-made framing;
 *   2. server memory per idle connected agent, with 1,000 agents in two child processes;
 *   3. the time for those 1,000 agents to reconnect after a server restart.
 * Agents run in child processes (this file, with DROVER_BENCH_TUNNEL_ROLE set), as
 * they would on other machines; the server side runs here.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client } from 'undici';
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
import { latencyStats, percentile, type BenchContext, type BenchResult, type LatencyStats } from './bench.ts';
import { silentLogger } from '../src/logging/index.ts';
import { TunnelClient } from '../src/tunnel/index.ts';
import { connectorFor } from '../src/kube/index.ts';
import { startTunnelHarness, until, type TunnelHarness } from '../src/testing/index.ts';
import { kubeRequest, startPrivateControlPlane, type ControlPlaneState } from '../test/testenv/index.ts';

const sourceBytes = 64 * 1024 * 1024;
const fleetSize = 1000;
const fleetProcesses = 2;

type ToChild = { type: 'raw'; address: string } | { type: 'count' };
type FromChild = { type: 'ready'; sourcePort?: number } | { type: 'count'; connected: number; reasons: Record<string, number>; closedAt: number[] };

// ---------------------------------------------------------------- child roles

async function childMain(role: string): Promise<void> {
  const serverUrl = process.env.BENCH_SERVER_URL ?? '';
  const ca = process.env.BENCH_CA ?? '';
  const send = (m: FromChild): void => { process.send?.(m); };
  if (role === 'perf') {
    const source = net.createServer((socket) => {
      const chunk = Buffer.alloc(64 * 1024, 1);
      let left = sourceBytes;
      socket.on('error', () => undefined);
      const pump = (): void => {
        while (left > 0) {
          left -= chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        socket.end();
      };
      pump();
    });
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
    const client = new TunnelClient({
      serverUrl, ca, headers: () => ({ 'x-test-token': 'cluster:c-bench' }), allow: () => true,
      logger: silentLogger(), backoff: { initialMs: 100, maxMs: 1000 },
    });
    client.on('connected', () => send({ type: 'ready', sourcePort: (source.address() as net.AddressInfo).port }));
    process.on('message', (m: ToChild) => {
      if (m.type !== 'raw') return;
      const ws = new WebSocket(`${serverUrl.replace('https', 'wss')}/raw`, { ca, perMessageDeflate: false });
      ws.on('open', () => {
        const [host, port] = m.address.split(':');
        const socket = net.connect(Number(port), host);
        const stream = createWebSocketStream(ws);
        socket.pipe(stream);
        stream.pipe(socket);
      });
    });
    client.start();
    return;
  }
  const count = Number(process.env.BENCH_COUNT);
  const offset = Number(process.env.BENCH_OFFSET);
  const clients: TunnelClient[] = [];
  const reasons: Record<string, number> = {};
  const closedAt: number[] = [];
  let connected = 0;
  for (let i = 0; i < count; i += 1) {
    const c = new TunnelClient({
      serverUrl, ca, headers: () => ({ 'x-test-token': `cluster:c-fleet-${offset + i}` }), allow: () => false,
      logger: silentLogger(), backoff: { initialMs: 1000, maxMs: 30_000 },
    });
    c.on('connected', () => { connected += 1; });
    c.on('disconnected', (reason) => {
      const key = reason.type === 'error' ? `error: ${reason.message.replace(/\d+/g, 'N')}` : reason.type;
      reasons[key] = (reasons[key] ?? 0) + 1;
      if (reason.type !== 'error' && reason.type !== 'refused') closedAt.push(Date.now());
      if (reason.type !== 'error' && reason.type !== 'refused') connected -= 1;
    });
    clients.push(c);
    c.start();
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
  }
  process.on('message', (m: ToChild) => { if (m.type === 'count') send({ type: 'count', connected, reasons, closedAt }); });
  send({ type: 'ready' });
}

// ---------------------------------------------------------------- helpers

function spawnChild(role: string, env: Record<string, string>): { child: ChildProcess; ready: Promise<FromChild> } {
  const child = fork(new URL(import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'], env: { ...process.env, DROVER_BENCH_TUNNEL_ROLE: role, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = new Promise<FromChild>((resolve) => child.once('message', resolve));
  return { child, ready };
}

function drain(stream: Duplex): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    stream.on('data', (c: Buffer) => { n += c.length; });
    stream.on('end', () => resolve(n));
    stream.on('error', reject);
  });
}

async function mibPerSecond(run: () => Promise<number>): Promise<number> {
  const start = performance.now();
  const bytes = await run();
  return bytes / 2 ** 20 / ((performance.now() - start) / 1000);
}

/** Runs each variant once per round for `rounds` rounds; returns each variant's median MiB/s. */
async function interleaved(variants: (() => Promise<number>)[], rounds: number): Promise<number[]> {
  const samples: number[][] = variants.map(() => []);
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, run] of variants.entries()) samples[i]?.push(await mibPerSecond(run));
  }
  return samples.map((s) => percentile([...s].sort((a, b) => a - b), 50));
}

/** Sequential GETs, `perRound` per client per round, rounds interleaved; stats per client over all rounds. */
async function interleavedLatency(clients: Client[], path: string, rounds: number, perRound: number, headers: Record<string, string>): Promise<LatencyStats[]> {
  const durations: number[][] = clients.map(() => []);
  const wall: number[] = clients.map(() => 0);
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, client] of clients.entries()) {
      const start = performance.now();
      for (let n = 0; n < perRound; n += 1) {
        const t = performance.now();
        const res = await client.request({ method: 'GET', path, headers });
        await res.body.dump();
        durations[i]?.push(performance.now() - t);
      }
      wall[i] = (wall[i] ?? 0) + performance.now() - start;
    }
  }
  return durations.map((d, i) => latencyStats(d, wall[i] ?? 0));
}

async function latency(client: Client, path: string, count: number, headers: Record<string, string>): Promise<LatencyStats> {
  const durations: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i += 1) {
    const t = performance.now();
    const res = await client.request({ method: 'GET', path, headers });
    await res.body.dump();
    durations.push(performance.now() - t);
  }
  return latencyStats(durations, performance.now() - start);
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function memory(): { rss: number; heap: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external + m.arrayBuffers };
}

// ---------------------------------------------------------------- the bench

async function perf(ctx: BenchContext, harness: TunnelHarness, cp: ControlPlaneState, wss: WebSocketServer): Promise<Record<string, unknown>> {
  const { child, ready } = spawnChild('perf', { BENCH_SERVER_URL: harness.url, BENCH_CA: harness.pki.caPem });
  try {
    const hello = await ready;
    const sourceAddress = `127.0.0.1:${hello.type === 'ready' ? hello.sourcePort : 0}`;
    await until('perf agent session', () => harness.tunnel.sessions().length === 1);
    ctx.progress('tunnel: byte source, direct vs tunnel vs bare websocket');
    const [host, port] = sourceAddress.split(':');
    const runBare = async (): Promise<number> => {
      const conn = new Promise<Duplex>((resolve) => wss.once('connection', (ws: WebSocket) => resolve(createWebSocketStream(ws))));
      child.send({ type: 'raw', address: sourceAddress } satisfies ToChild);
      return drain(await conn);
    };
    // Interleaved rounds, median of each: the machine is shared, so load shifts between
    // rounds hit all three variants alike.
    const [direct = Number.NaN, tunnel = Number.NaN, bareWs = Number.NaN] = await interleaved([
      () => drain(net.connect(Number(port), host)),
      async () => drain(await harness.tunnel.dial('c-bench', sourceAddress)),
      runBare,
    ], 5);

    ctx.progress('tunnel: apiserver LIST and GET /version, direct vs tunnel');
    const ns = `bench-${randomBytes(3).toString('hex')}`;
    const admin = { url: cp.url, caPem: cp.caPem, token: cp.adminToken };
    await kubeRequest(admin, 'POST', '/api/v1/namespaces', { metadata: { name: ns } });
    const filler = 'x'.repeat(20_000);
    for (let i = 0; i < 200; i += 1) await kubeRequest(admin, 'POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `cm-${i}` }, data: { filler } });
    const directClient = new Client(cp.url, { connect: { ca: cp.caPem } });
    const tunnelClient = new Client(cp.url, {
      connect: connectorFor({ server: cp.url, caPem: cp.caPem, dial: (host, port, signal) => harness.tunnel.dial('c-bench', `${host}:${port}`, signal ? { signal } : {}) }, 30_000),
    });
    const headers = { authorization: `Bearer ${cp.adminToken}`, accept: 'application/json' };
    const list = async (c: Client): Promise<number> => {
      const res = await c.request({ method: 'GET', path: `/api/v1/namespaces/${ns}/configmaps`, headers });
      return (await res.body.arrayBuffer()).byteLength;
    };
    await list(directClient);
    await list(tunnelClient);
    const [listDirect = Number.NaN, listTunnel = Number.NaN] = await interleaved([() => list(directClient), () => list(tunnelClient)], 9);
    await latency(directClient, '/version', 50, headers);
    await latency(tunnelClient, '/version', 50, headers);
    const [latDirect = latencyStats([], 0), latTunnel = latencyStats([], 0)] = await interleavedLatency([directClient, tunnelClient], '/version', 5, 200, headers);
    await directClient.close();
    await tunnelClient.close();
    await kubeRequest(admin, 'DELETE', `/api/v1/namespaces/${ns}`);
    return {
      sourceMiBps: { direct, tunnel, bareWebSocket: bareWs, tunnelVsDirect: tunnel / direct, tunnelVsBareWebSocket: tunnel / bareWs },
      listMiBps: { direct: listDirect, tunnel: listTunnel, tunnelVsDirect: listTunnel / listDirect },
      versionLatency: { direct: latDirect, tunnel: latTunnel, p50Ratio: latTunnel.p50Ms / latDirect.p50Ms, p99Ratio: latTunnel.p99Ms / latDirect.p99Ms },
    };
  } finally {
    child.kill();
  }
}

async function fleet(ctx: BenchContext, harness: TunnelHarness): Promise<Record<string, unknown>> {
  const before = memory();
  const per = fleetSize / fleetProcesses;
  const children = Array.from({ length: fleetProcesses }, (_, i) => spawnChild('fleet', {
    BENCH_SERVER_URL: harness.url, BENCH_CA: harness.pki.caPem, BENCH_COUNT: String(per), BENCH_OFFSET: String(i * per),
  }));
  try {
    await Promise.all(children.map((c) => c.ready));
    const connectStart = performance.now();
    ctx.progress(`tunnel: waiting for ${fleetSize} agents`);
    await until('all agents connected', () => fleetSessions(harness) >= fleetSize, 90_000);
    const connectMs = performance.now() - connectStart;
    await new Promise((r) => setTimeout(r, 2000));
    const after = memory();
    const perAgent = { rssBytes: (after.rss - before.rss) / fleetSize, heapBytes: (after.heap - before.heap) / fleetSize };

    ctx.progress('tunnel: restarting the server');
    const downMs = 3000;
    const stoppedAt = Date.now();
    await harness.stop();
    await new Promise((r) => setTimeout(r, downMs));
    const restartedAt = performance.now();
    await harness.restart();
    let half = Number.NaN;
    let p99 = Number.NaN;
    const timeline: [number, number][] = [];
    const sampler = setInterval(() => timeline.push([Math.round(performance.now() - restartedAt), fleetSessions(harness)]), 1000);
    await until('agents reconnected', () => {
      const n = fleetSessions(harness);
      if (Number.isNaN(half) && n >= fleetSize / 2) half = performance.now() - restartedAt;
      if (Number.isNaN(p99) && n >= fleetSize * 0.99) p99 = performance.now() - restartedAt;
      return n >= fleetSize;
    }, 90_000);
    const allMs = performance.now() - restartedAt;
    clearInterval(sampler);
    const disconnects: Record<string, number>[] = [];
    const noticed: number[] = [];
    const replies = await Promise.all(children.map(({ child }) => new Promise<FromChild>((resolve) => {
      child.once('message', resolve);
      child.send({ type: 'count' } satisfies ToChild);
    })));
    for (const r of replies) {
      if (r.type !== 'count') continue;
      disconnects.push(r.reasons);
      noticed.push(...r.closedAt.filter((t) => t >= stoppedAt).map((t) => t - stoppedAt));
    }
    noticed.sort((a, b) => a - b);
    return {
      agents: fleetSize,
      initialConnectMs: connectMs,
      memoryPerIdleAgent: perAgent,
      serverMemoryWithFleet: after,
      reconnect: { backoff: { initialMs: 1000, maxMs: 30_000, jitter: 'full' }, serverDownMs: downMs, halfMs: half, p99Ms: p99, allMs, timeline, agentDisconnectReasons: disconnects, agentsNoticedStopMs: { p50: percentile(noticed, 50), p99: percentile(noticed, 99), count: noticed.length } },
    };
  } finally {
    for (const c of children) c.child.kill();
  }
}

const fleetSessions = (h: TunnelHarness): number => h.tunnel.sessions().filter((s) => s.identity.clusterId.startsWith('c-fleet-')).length;

const fmt = (n: unknown, digits = 2): string => (typeof n === 'number' ? n.toFixed(digits) : String(n));

export default async function tunnelBench(ctx: BenchContext): Promise<BenchResult> {
  ctx.progress('tunnel: starting a private control plane');
  const cp = await startPrivateControlPlane();
  // A bare-WebSocket endpoint beside the tunnel, for the framing comparison.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const harness = await startTunnelHarness({
    logger: silentLogger(),
    otherUpgrade: (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
  });
  try {
    // DROVER_BENCH_TUNNEL_ONLY=fleet|perf runs one part, for quick runs.
    const perfFigures = process.env.DROVER_BENCH_TUNNEL_ONLY === 'fleet' ? {} : await perf(ctx, harness, cp.state, wss);
    const fleetFigures = process.env.DROVER_BENCH_TUNNEL_ONLY === 'perf' ? {} : await fleet(ctx, harness);
    const figures = { ...perfFigures, ...fleetFigures };
    const s = (perfFigures.sourceMiBps ?? {}) as Record<string, number>;
    const l = (perfFigures.listMiBps ?? {}) as Record<string, number>;
    const v = perfFigures.versionLatency as { direct: LatencyStats; tunnel: LatencyStats; p50Ratio: number; p99Ratio: number } | undefined;
    const m = (fleetFigures.memoryPerIdleAgent ?? {}) as { rssBytes: number; heapBytes: number };
    const r = (fleetFigures.reconnect ?? { agentsNoticedStopMs: {} }) as { halfMs: number; p99Ms: number; allMs: number; agentsNoticedStopMs: { p50: number; p99: number } };
    const summary = [
      '| measure | direct TCP | tunnel | tunnel / direct |',
      '| --- | --- | --- | --- |',
      `| 64 MiB byte source (MiB/s) | ${fmt(s.direct, 0)} | ${fmt(s.tunnel, 0)} | ${fmt(s.tunnelVsDirect)} |`,
      `| LIST of 200 x 20 KB ConfigMaps (MiB/s) | ${fmt(l.direct, 1)} | ${fmt(l.tunnel, 1)} | ${fmt(l.tunnelVsDirect)} |`,
      `| GET /version p50 (ms) | ${fmt(v?.direct.p50Ms, 3)} | ${fmt(v?.tunnel.p50Ms, 3)} | ${fmt(v?.p50Ratio)} |`,
      `| GET /version p99 (ms) | ${fmt(v?.direct.p99Ms, 3)} | ${fmt(v?.tunnel.p99Ms, 3)} | ${fmt(v?.p99Ratio)} |`,
      '',
      `Framing: HTTP/2 over the WebSocket moves ${fmt(s.tunnel, 0)} MiB/s vs ${fmt(s.bareWebSocket, 0)} MiB/s for a bare WebSocket (one stream, no header, no flow control): ratio ${fmt(s.tunnelVsBareWebSocket)}.`,
      `Memory per idle connected agent (${fleetSize} agents, server side): ${fmt(m.rssBytes / 1024, 1)} KiB RSS, ${fmt(m.heapBytes / 1024, 1)} KiB JS heap + buffers.`,
      `Reconnect of ${fleetSize} agents after a 3 s server outage (backoff 1 s..30 s, full jitter): 50% in ${fmt(r.halfMs / 1000, 1)} s, 99% in ${fmt(r.p99Ms / 1000, 1)} s, all in ${fmt(r.allMs / 1000, 1)} s after the restart (agents noticed the outage after ${fmt(r.agentsNoticedStopMs.p50 / 1000, 1)} s median, ${fmt(r.agentsNoticedStopMs.p99 / 1000, 1)} s p99; load average ${fmt(loadavg()[0], 1)} on this machine).`,
    ].join('\n');
    return { summary, figures };
  } finally {
    await harness.stop();
    await cp.stop();
  }
}

const role = process.env.DROVER_BENCH_TUNNEL_ROLE;
if (role) void childMain(role);
