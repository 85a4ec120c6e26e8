/**
 * The authentication proxy, side by side in one run against one real kube-apiserver.
 *
 * Three processes, as in production: this one runs Drover's HTTPS listener (the
 * server factory the real server uses) with the proxy chain, the tunnel server and
 * nothing else; an agent child process holds the reverse tunnel (TunnelClient) and
 * dials kube-apiserver; a load-generator child process (undici, keep-alive) sends the
 * requests, so the client never shares the proxy's event loop.
 *
 * Variants, interleaved round by round so load drift on the shared machine hits all
 * alike: straight at kube-apiserver (admin token); straight with the same
 * impersonation the proxy sends (account token + Impersonate-*: the apiserver's own
 * impersonation cost); the forwarding floor (the same listener and upstream pool
 * relaying with fixed headers and no chain: what Node's HTTPS server plus undici
 * cost before Drover does anything, so the chain's own share can be told apart);
 * through the proxy over a direct connection; through the proxy over the tunnel. For a small GET (sequential and 8 concurrent) and a
 * 1,000-object LIST (sequential and 4 concurrent). Also: CPU time per request of
 * this process and of kube-apiserver (wall time on a shared 2-core machine is mostly
 * waiting for a core; CPU time is not); memory of this process with 5,000 open
 * watches through the proxy over the tunnel (RSS and heap after GC); and the first
 * request of a new user (five objects created) vs the steady state.
 *
 * Authentication and membership are stubs that answer at once (identity.bench.ts
 * measures the token cache); everything after them is the production chain.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:https';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Pool, type Dispatcher } from 'undici';
import { latencyStats, type BenchContext, type BenchResult, type LatencyStats } from './bench.ts';
import { directCluster } from './clusters.ts';
import { silentLogger } from '../src/logging/index.ts';
import { KubeClient, resourcePath, resources } from '../src/kube/index.ts';
import { createProxyHandlers, OpenStreams, UpstreamPools, type ProxyCluster } from '../src/proxy/index.ts';
import { KubeImpersonationAccounts, impersonationHeaders } from '../src/impersonation/index.ts';
import { httpsServerFactory } from '../src/server/http-server.ts';
import { loadOrCreateTls } from '../src/server/tls.ts';
import { TunnelClient } from '../src/tunnel/index.ts';
import { startTunnelHarness, until } from '../src/testing/index.ts';
import type { AuthenticatedUser } from '../src/identity/index.ts';
import { startPrivateControlPlane } from '../test/testenv/index.ts';

const watchCount = Number(process.env.DROVER_BENCH_WATCHES ?? 5000);

interface Target { origin: string; ca: string; path: string; headers: Record<string, string | string[]> }
type Job =
  | { type: 'latency'; targets: Target[]; count: number; concurrency: number; rounds: number }
  | { type: 'watches'; target: Target; count: number }
  | { type: 'close-watches' };
type ToChild = Job & { id: number };
type FromChild = { type: 'ready' } | { type: 'done'; id: number; result: unknown } | { type: 'failed'; id: number; message: string };

// ---------------------------------------------------------------- child roles

function agentMain(): void {
  const client = new TunnelClient({
    serverUrl: process.env.BENCH_SERVER_URL ?? '', ca: process.env.BENCH_CA ?? '',
    headers: () => ({ 'x-test-token': 'cluster:c-tunnel' }), allow: () => true,
    logger: silentLogger(), backoff: { initialMs: 100, maxMs: 1000 },
  });
  let told = false;
  client.on('connected', () => { if (!told) process.send?.({ type: 'ready' } satisfies FromChild); told = true; });
  client.start();
  process.on('disconnect', () => process.exit(0));
}

function loadMain(): void {
  const pools = new Map<string, Pool>();
  const poolFor = (t: Target, connections = 16): Pool => {
    const key = `${t.origin} ${connections}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = new Pool(t.origin, { connect: { ca: t.ca, rejectUnauthorized: false }, connections, pipelining: 1, keepAliveTimeout: 60_000 });
      pools.set(key, pool);
    }
    return pool;
  };
  const once = async (pool: Pool, t: Target): Promise<number> => {
    const start = performance.now();
    const res = await pool.request({ method: 'GET', path: t.path, headers: t.headers });
    await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
    if (res.statusCode !== 200) throw new Error(`GET ${t.path} answered ${res.statusCode}`);
    return performance.now() - start;
  };
  let watchPool: Pool | undefined;
  const watchBodies: Dispatcher.ResponseData['body'][] = [];
  const handle = async (m: ToChild): Promise<unknown> => {
    switch (m.type) {
      case 'latency': {
        const durations: number[][] = m.targets.map(() => []);
        const wall = m.targets.map(() => 0);
        const perRound = Math.ceil(m.count / m.rounds);
        // Warm every connection first.
        for (const t of m.targets) await Promise.all(Array.from({ length: m.concurrency }, () => once(poolFor(t), t)));
        for (let round = 0; round < m.rounds; round += 1) {
          for (const [i, t] of m.targets.entries()) {
            const pool = poolFor(t);
            let next = 0;
            const start = performance.now();
            await Promise.all(Array.from({ length: m.concurrency }, async () => {
              while (next++ < perRound) durations[i]?.push(await once(pool, t));
            }));
            wall[i] = (wall[i] ?? 0) + performance.now() - start;
          }
        }
        return durations.map((d, i) => latencyStats(d, wall[i] ?? 0));
      }
      case 'watches': {
        watchPool = new Pool(m.target.origin, {
          connect: { ca: m.target.ca, rejectUnauthorized: false, timeout: 120_000 }, connections: m.count, pipelining: 1, bodyTimeout: 0, headersTimeout: 120_000,
        });
        const start = performance.now();
        let error: string | undefined;
        for (let i = 0; i < m.count && !error; i += 200) {
          const batch = await Promise.allSettled(Array.from({ length: Math.min(200, m.count - i) }, async () => {
            const res = await watchPool?.request({ method: 'GET', path: m.target.path, headers: m.target.headers });
            if (res?.statusCode !== 200) throw new Error(`watch answered ${res?.statusCode}`);
            res.body.on('data', () => undefined);
            res.body.on('error', () => undefined);
            return res.body;
          }));
          for (const r of batch) {
            if (r.status === 'fulfilled') watchBodies.push(r.value);
            else error ??= String((r.reason as Error).message);
          }
        }
        return { open: watchBodies.length, seconds: (performance.now() - start) / 1000, ...(error ? { error } : {}) };
      }
      case 'close-watches':
        for (const body of watchBodies.splice(0)) body.destroy();
        await watchPool?.destroy();
        return { closed: true };
      default:
        return undefined;
    }
  };
  process.on('message', (m: ToChild) => {
    handle(m).then(
      (result) => process.send?.({ type: 'done', id: m.id, result } satisfies FromChild),
      (error: Error) => process.send?.({ type: 'failed', id: m.id, message: error.message } satisfies FromChild),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready' } satisfies FromChild);
}

// ---------------------------------------------------------------- helpers

function spawnChild(role: string, env: Record<string, string> = {}): { child: ChildProcess; ready: Promise<void> } {
  const child = fork(new URL(import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'], env: { ...process.env, DROVER_BENCH_PROXY_ROLE: role, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`bench ${role} child exited with ${code}`)));
  });
  return { child, ready };
}

function caller(child: ChildProcess): <T>(job: Job) => Promise<T> {
  let nextId = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (m: FromChild) => {
    if (m.type === 'ready') return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.type === 'done') w?.resolve(m.result);
    else w?.reject(new Error(m.message));
  });
  return <T>(job: Job) => new Promise<T>((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    child.send({ ...job, id } satisfies ToChild);
  });
}

/** User + system CPU milliseconds of another process, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function memory(): { rssBytes: number; heapBytes: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapBytes: m.heapUsed + m.external + m.arrayBuffers };
}

const benchUser = (id: string): AuthenticatedUser => ({
  id, username: id, displayName: id, provider: 'local', principalIds: [`local://${id}`], groups: [], globalRole: 'admin', token: { id: 'token-bench' },
});

const fmt = (s: LatencyStats): string => `p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms, ${s.perSecond.toFixed(0)}/s`;
const pct = (a: number, b: number): string => `${((a / b) * 100).toFixed(0)} %`;
const plus = (a: number, b: number): string => `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(2)} ms`;

// ---------------------------------------------------------------- the bench

export default async function proxyBench(ctx: BenchContext): Promise<BenchResult> {
  ctx.progress('starting a private control plane, the tunnel server, an agent and the load generator');
  const cp = await startPrivateControlPlane();
  const state = cp.state;
  const admin = new KubeClient({ endpoint: { server: state.url, caPem: state.caPem, token: state.adminToken } });
  const apiserver = new URL(state.url);
  const harness = await startTunnelHarness();
  const agent = spawnChild('agent', { BENCH_SERVER_URL: harness.url, BENCH_CA: harness.pki.caPem });
  const load = spawnChild('load');
  const ask = caller(load.child);
  const ns = `bench-${randomBytes(3).toString('hex')}`;
  const quiet = `bench-quiet-${randomBytes(3).toString('hex')}`;
  const accounts = new KubeImpersonationAccounts({ adminClient: () => admin, waitMs: 30_000 });
  const pools = new UpstreamPools();
  const direct = directCluster(state, admin);
  const tunneled: ProxyCluster = { ...direct, upstream: { ...direct.upstream, dial: (signal, options) => harness.tunnel.dial('c-tunnel', apiserver.host, { ...(signal ? { signal } : {}), ...(options?.longLived ? { ownConnection: false } : {}) }) } };
  let user = benchUser('u-bench');
  const handlers = createProxyHandlers({
    authenticator: { authenticate: () => Promise.resolve(user) },
    membership: { canAccessCluster: () => Promise.resolve(true) },
    clusters: { live: (id) => (id === 'c-tunnel' ? tunneled : direct), describe: (id) => Promise.resolve({ id, state: 'active', stateReason: '' }) },
    // The impersonation accounts live once per cluster; both ids share one apiserver here.
    accounts: { tokenFor: (_clusterId, u) => accounts.tokenFor('c-bench', u) },
    // The production registry: every request is held while open.
    pools, streams: new OpenStreams({ recheck: () => Promise.resolve(), logger: silentLogger() }), logger: silentLogger(),
  });
  const tls = await loadOrCreateTls({ dataDir: mkdtempSync(join(tmpdir(), 'proxy-bench-')), publicHost: '127.0.0.1' });
  // The production listener: same server factory, same timeouts, raw route before any framework.
  // The floor: no authentication, scrubbing or identity step, just the relay (never in production).
  let floorHeaders: string[] = [];
  const floor = (req: IncomingMessage, res: ServerResponse): void => {
    void pools.get('c-floor', direct.upstream).stream({ method: 'GET', path: (req.url ?? '').slice('/floor'.length), headers: floorHeaders, opaque: res },
      ({ statusCode, headers }) => { res.writeHead(statusCode, headers as OutgoingHttpHeaders); return res; });
  };
  const factory = httpsServerFactory(tls, { raw: [{ prefix: '/k8s/clusters/', handler: handlers.request }, { prefix: '/floor/', handler: floor }], upgrade: [] });
  const server = (factory as unknown as (h: () => void, o: object) => Server)(() => undefined, {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxyOrigin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await Promise.all([agent.ready, load.ready]);
    await until('agent session', () => harness.tunnel.sessions().length === 1);
    ctx.progress('preparing 1,000 ConfigMaps and RBAC for the bench users');
    await admin.create('/api/v1/namespaces', { metadata: { name: ns } });
    await admin.create('/api/v1/namespaces', { metadata: { name: quiet } });
    await admin.create(resourcePath(resources.clusterrolebindings), {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${ns}-owner` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:cattle:authenticated' }],
    });
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => admin.create(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `cm-${i + j}` }, data: { v: 'x'.repeat(64) } })));
    }

    const via = (path: string): Record<'straight' | 'impersonated' | 'floor' | 'direct' | 'tunnel', (token: string) => Target> => ({
      straight: () => ({ origin: state.url, ca: state.caPem, path, headers: { authorization: `Bearer ${state.adminToken}` } }),
      impersonated: (saToken) => ({ origin: state.url, ca: state.caPem, path, headers: { authorization: `Bearer ${saToken}`, ...impersonationHeaders(user) } }),
      floor: () => ({ origin: proxyOrigin, ca: tls.caPem, path: `/floor${path}`, headers: { authorization: 'Bearer x' } }),
      direct: () => ({ origin: proxyOrigin, ca: tls.caPem, path: `/k8s/clusters/c-direct${path}`, headers: { authorization: 'Bearer x' } }),
      tunnel: () => ({ origin: proxyOrigin, ca: tls.caPem, path: `/k8s/clusters/c-tunnel${path}`, headers: { authorization: 'Bearer x' } }),
    });
    const small = via('/api/v1/namespaces/default');
    const list = via(`/api/v1/namespaces/${ns}/configmaps`);

    ctx.progress('first request of a new user vs steady state');
    const one = async (u: AuthenticatedUser): Promise<void> => {
      user = u;
      // count 0: only the job's warm-up request, which is this user's first.
      await ask<LatencyStats[]>({ type: 'latency', targets: [small.direct('x')], count: 0, concurrency: 1, rounds: 1 });
    };
    const firstStart = performance.now();
    await one(benchUser('u-bench'));
    const firstRequestMs = performance.now() - firstStart;
    const colds: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await one(benchUser(`u-cold-${randomBytes(3).toString('hex')}`));
      colds.push(performance.now() - t);
    }
    user = benchUser('u-bench');
    const saToken = await accounts.tokenFor('c-bench', user);
    floorHeaders = [['authorization', `Bearer ${saToken}`], ...Object.entries(impersonationHeaders(user)).flatMap(([n, vs]) => vs.map((v) => [n, v]))].flat();

    const variants = ['straight', 'impersonated', 'floor', 'direct', 'tunnel'] as const;
    const run = async (what: typeof small, count: number, concurrency: number, rounds: number): Promise<Record<typeof variants[number], LatencyStats>> => {
      const stats = await ask<LatencyStats[]>({ type: 'latency', targets: variants.map((v) => what[v](saToken)), count, concurrency, rounds });
      return Object.fromEntries(variants.map((v, i) => [v, stats[i]])) as Record<typeof variants[number], LatencyStats>;
    };
    ctx.progress('small GET, sequential and 8 concurrent, four variants interleaved');
    const smallSeq = await run(small, 800, 1, 4);
    const smallC8 = await run(small, 1600, 8, 4);
    ctx.progress('1,000-object LIST, sequential and 4 concurrent');
    const listSeq = await run(list, 40, 1, 2);
    const listC4 = await run(list, 100, 4, 2);

    // CPU per request: what a request costs this (the proxy's) process and kube-apiserver,
    // in CPU time rather than wall time, so a loaded machine skews it far less.
    ctx.progress('CPU time per small GET: proxy process vs kube-apiserver');
    const cpuRequests = 600;
    const cpuPer = async (target: Target): Promise<{ proxyUs: number; apiserverUs: number }> => {
      const proxyStart = process.cpuUsage();
      const apiStart = processCpuMs(state.pids.apiserver);
      await ask<LatencyStats[]>({ type: 'latency', targets: [target], count: cpuRequests, concurrency: 1, rounds: 1 });
      const proxy = process.cpuUsage(proxyStart);
      return { proxyUs: (proxy.user + proxy.system) / (cpuRequests + 1), apiserverUs: ((processCpuMs(state.pids.apiserver) - apiStart) * 1000) / (cpuRequests + 1) };
    };
    const cpu = {
      straight: await cpuPer(small.straight(saToken)), impersonated: await cpuPer(small.impersonated(saToken)), floor: await cpuPer(small.floor(saToken)),
      direct: await cpuPer(small.direct(saToken)), tunnel: await cpuPer(small.tunnel(saToken)),
    };
    ctx.progress(`small GET p50 straight/impersonated/direct/tunnel ${[smallSeq.straight, smallSeq.impersonated, smallSeq.direct, smallSeq.tunnel].map((x) => x.p50Ms.toFixed(2)).join('/')} ms; 8 concurrent rps ${[smallC8.straight, smallC8.impersonated, smallC8.direct, smallC8.tunnel].map((x) => x.perSecond.toFixed(0)).join('/')}`);

    ctx.progress(`${watchCount} open watches through the proxy`);
    // Let the latency runs' idle upstream connections go first, so the figure is the watches'.
    const before = memory();
    // Over the tunnel, as in production: each watch is a client connection, a tunnel stream and an upstream TLS connection.
    const watchPath = `/k8s/clusters/c-tunnel/api/v1/namespaces/${quiet}/configmaps?watch=1&timeoutSeconds=900&allowWatchBookmarks=false`;
    const opened = await ask<{ open: number; seconds: number; error?: string }>({ type: 'watches', target: { origin: proxyOrigin, ca: tls.caPem, path: watchPath, headers: { authorization: 'Bearer x' } }, count: watchCount });
    const during = memory();
    await ask({ type: 'close-watches' });
    const watches = {
      open: opened.open, openSeconds: opened.seconds, error: opened.error, before, during,
      rssDeltaBytes: during.rssBytes - before.rssBytes, heapDeltaBytes: during.heapBytes - before.heapBytes,
      perWatchRssBytes: (during.rssBytes - before.rssBytes) / opened.open, perWatchHeapBytes: (during.heapBytes - before.heapBytes) / opened.open,
    };

    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
    const table = (title: string, s: Record<typeof variants[number], LatencyStats>): string[] => [
      `- ${title}: straight ${fmt(s.straight)}; straight+impersonation ${fmt(s.impersonated)}; forwarding floor ${fmt(s.floor)}; proxy direct ${fmt(s.direct)}; proxy tunnel ${fmt(s.tunnel)}`,
      `  - proxy direct vs forwarding floor (the chain's own cost): p50 ${plus(s.direct.p50Ms, s.floor.p50Ms)}, rps ${pct(s.direct.perSecond, s.floor.perSecond)}; floor vs straight+impersonation: p50 ${plus(s.floor.p50Ms, s.impersonated.p50Ms)}, rps ${pct(s.floor.perSecond, s.impersonated.perSecond)}`,
      `  - proxy direct vs straight: p50 ${plus(s.direct.p50Ms, s.straight.p50Ms)}, rps ${pct(s.direct.perSecond, s.straight.perSecond)}; vs straight+impersonation: p50 ${plus(s.direct.p50Ms, s.impersonated.p50Ms)}, rps ${pct(s.direct.perSecond, s.impersonated.perSecond)}`,
      `  - proxy tunnel vs straight: p50 ${plus(s.tunnel.p50Ms, s.straight.p50Ms)}, rps ${pct(s.tunnel.perSecond, s.straight.perSecond)}; vs straight+impersonation: p50 ${plus(s.tunnel.p50Ms, s.impersonated.p50Ms)}, rps ${pct(s.tunnel.perSecond, s.impersonated.perSecond)}`,
    ];
    const summary = [
      '## proxy (load generator and agent in their own processes; production listener and chain; stub authenticator)',
      ...table('small GET sequential', smallSeq),
      ...table('small GET 8 concurrent', smallC8),
      ...table('1,000-object LIST sequential', listSeq),
      ...table('1,000-object LIST 4 concurrent', listC4),
      `- CPU per small GET (sequential, ${cpuRequests}): proxy process ${cpu.direct.proxyUs.toFixed(0)} µs direct (forwarding floor ${cpu.floor.proxyUs.toFixed(0)} µs), ${cpu.tunnel.proxyUs.toFixed(0)} µs over the tunnel (tunnel server side included; the agent is another process); kube-apiserver ${cpu.straight.apiserverUs.toFixed(0)} µs straight, ${cpu.impersonated.apiserverUs.toFixed(0)} µs impersonated, ${cpu.direct.apiserverUs.toFixed(0)} µs behind the proxy`,
      `- targets (direct connection): p50 added ≤ 0.5 ms: ${plus(smallSeq.direct.p50Ms, smallSeq.straight.p50Ms)} (${plus(smallSeq.direct.p50Ms, smallSeq.impersonated.p50Ms)} over the apiserver's own impersonation); rps ≥ 90 %: ${pct(smallC8.direct.perSecond, smallC8.straight.perSecond)} (${pct(smallC8.direct.perSecond, smallC8.impersonated.perSecond)} of impersonated)`,
      `- ${watches.open} of ${watchCount} watches open through the proxy over the tunnel${watches.error ? ` (the rest failed: ${watches.error})` : ''} (opened in ${watches.openSeconds.toFixed(1)} s): proxy process RSS ${mib(before.rssBytes)} → ${mib(during.rssBytes)} (+${mib(watches.rssDeltaBytes)}, ${(watches.perWatchRssBytes / 1024).toFixed(1)} KiB/watch), heap+buffers +${mib(watches.heapDeltaBytes)} (${(watches.perWatchHeapBytes / 1024).toFixed(1)} KiB/watch)`,
      `- first request of a new user (five objects created, token filled and accepted): first ${firstRequestMs.toFixed(0)} ms, then ${colds.map((c) => c.toFixed(0)).join('/')} ms; steady p50 ${smallSeq.direct.p50Ms.toFixed(2)} ms`,
    ].join('\n');
    return { summary, figures: { smallSeq, smallC8, listSeq, listC4, cpuPerRequest: cpu, watches, firstRequestMs, coldMs: colds } };
  } finally {
    load.child.kill();
    agent.child.kill();
    server.closeAllConnections();
    server.close();
    await pools.close();
    await harness.stop();
    await accounts.close();
    await admin.close();
    await cp.stop();
  }
}

const role = process.env.DROVER_BENCH_PROXY_ROLE;
if (role === 'agent') agentMain();
else if (role === 'load') loadMain();
