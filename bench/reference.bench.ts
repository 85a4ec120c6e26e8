/**
 * Drover against the Go reference (issue #21), side by side in one run, against one
 * real kube-apiserver, with a neutral load generator.
 *
 * Four variants, interleaved round by round so load drift on the shared machine hits
 * all alike:
 * - straight: at kube-apiserver with the admin token;
 * - impersonated: at kube-apiserver with the admin token and the Impersonate-* headers
 *   the Go reference sends (the apiserver's own impersonation cost);
 * - reference: bench/peers (Go): a proxy built like Rancher's (remotedialer tunnel,
 *   UpgradeAwareHandler per request, client-go transport with the impersonation
 *   round-tripper, HTTP/1.1 upstream), its server and its agent as two processes;
 * - drover: a real `drover server` process and a real `drover agent` process, a
 *   registered cluster, and a member's token (cluster-owner, not a Drover admin).
 *
 * The load generator is bench/peers' `load` (Go, HTTP/1.1 keep-alive, one client per
 * target kept across rounds), so neither side shares a runtime with the client.
 * CPU per request is read from /proc (each thread's schedstat) for each process (server and agent) around
 * each variant's share of a round: on a shared 2-core machine, wall time is mostly
 * waiting for a core, CPU time is not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { percentile, type BenchContext, type BenchResult } from './bench.ts';
import { KubeClient } from '../src/kube/index.ts';
import { startPrivateControlPlane } from '../test/testenv/index.ts';
import { runScript } from '../test/testenv/processes.ts';
import { eventually, startDrover, type RegisteredCluster } from '../test/testenv/drover.ts';
import { call } from '../test/e2e/identity-support.ts';

/**
 * Measured rounds of each workload (default 8). A round is about a second of each variant;
 * with 4, one full GC of a Node process (Go has none of that size) fell into the few dozen
 * LISTs of a workload or not, and moved its figure by half from run to run.
 */
const rounds = Number(process.env.DROVER_BENCH_ROUNDS ?? 8);
/** Only the workloads whose name contains this (for profiling one of them). */
const only = process.env.DROVER_BENCH_WORKLOAD ?? '';
/** Extra environment of the Drover server process, such as NODE_OPTIONS=--cpu-prof. */
const serverEnv = process.env.DROVER_BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.DROVER_BENCH_SERVER_NODE_OPTIONS } : {};
/** More `drover server` flags, space-separated (to measure what a setting costs, such as `--audit-retention 0`). */
const serverArgs = process.env.DROVER_BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [];
const variants = ['straight', 'impersonated', 'reference', 'drover'] as const;
type Variant = typeof variants[number];
/** The user and groups the Go reference impersonates; straight+impersonation sends the same. */
const member = { user: 'bench-member', groups: ['system:authenticated', 'system:cattle:authenticated'] };

interface Workload { name: string; path: string; concurrency: number; perRound: number }
interface LoadAnswer { durationsUs: number[]; wallUs: number; bytes: number; error?: string }
interface Target { url: string; headers: Record<string, string[]>; pids: number[] }

/**
 * On-CPU microseconds of a process, all its threads, from each thread's
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds). Not /proc/<pid>/stat: it counts in
 * 10 ms clock ticks, and a round of a dozen LISTs is a few ticks per process, so a
 * share of a round was off by up to a third. A thread that ended between two reads
 * drops out; Node's and Go's threads live as long as their process.
 */
function cpuUs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended after the listing.
    }
  }
  return ns / 1000;
}

/** The Go load generator: one JSON job per line in, one JSON answer per line out. */
function startLoad(bin: string): { run: (url: string, headers: Record<string, string[]>, count: number, concurrency: number) => Promise<LoadAnswer>; child: ChildProcess } {
  const child = spawn(bin, ['load'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const answers: ((a: LoadAnswer) => void)[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => answers.shift()?.(JSON.parse(line) as LoadAnswer));
  return {
    child,
    run: (url, headers, count, concurrency) => new Promise((resolve, reject) => {
      answers.push((a) => (a.error ? reject(new Error(`load on ${url}: ${a.error}`)) : resolve(a)));
      child.stdin?.write(`${JSON.stringify({ url, headers, count, concurrency })}\n`);
    }),
  };
}

/** Starts a process and resolves with the first stdout line matching `ready`. */
function startPeer(bin: string, args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (c: Buffer) => { output += c.toString(); });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = ready.exec(line);
      if (match) resolve({ child, match });
    });
    child.once('exit', (code) => reject(new Error(`${bin} ${args[0] ?? ''} exited with ${code}: ${output.slice(-2000)}`)));
  });
}

interface Figures { p50Ms: number; p99Ms: number; perSecond: number; mibPerSecond: number; cpuUsPerRequest: number[]; count: number }

function figures(durationsUs: number[], wallUs: number, bytes: number, cpu: number[]): Figures {
  const sorted = [...durationsUs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50) / 1000,
    p99Ms: percentile(sorted, 99) / 1000,
    perSecond: (sorted.length * 1e6) / wallUs,
    mibPerSecond: (bytes / 2 ** 20) / (wallUs / 1e6),
    cpuUsPerRequest: cpu.map((us) => us / sorted.length),
  };
}

export default async function referenceBench(ctx: BenchContext): Promise<BenchResult> {
  ctx.progress('building the Go reference (bench/peers/build.sh; cached after the first build)');
  const bin = (await runScript(join(import.meta.dirname, 'peers', 'build.sh'), [], ctx.progress)).trim().split('\n').pop() ?? '';
  ctx.progress('starting a private control plane, a Drover server and agent, the Go reference and its agent');
  const cp = await startPrivateControlPlane();
  const state = cp.state;
  const admin = new KubeClient({ endpoint: { server: state.url, caPem: state.caPem, token: state.adminToken } });
  const drover = await startDrover({ env: serverEnv, serverArgs });
  const children: ChildProcess[] = [];
  let cluster: RegisteredCluster | undefined;
  try {
    const suffix = randomBytes(3).toString('hex');
    const registered = await drover.registerCluster(`bench-${suffix}`, state);
    cluster = registered;
    const password = `member-password-${suffix}`;
    await drover.cli('users', 'create', 'member', '--password', password);
    await drover.cli('members', 'add', '--cluster', registered.name, '--user', 'member', '--role', 'cluster-owner');
    const login = await call(drover.server, 'POST', '/v1/login', { body: { username: 'member', password } });
    const memberToken = (login.json() as { token: string }).token;

    const caFile = join(drover.dir, 'cluster-ca.pem');
    writeFileSync(caFile, state.caPem);
    const agentToken = randomBytes(16).toString('hex');
    const userToken = randomBytes(16).toString('hex');
    const ref = await startPeer(bin, ['server', '--apiserver', state.url, '--ca-file', caFile, '--account-token', state.adminToken,
      '--agent-token', agentToken, '--user-token', userToken], /^listening (\d+)$/);
    children.push(ref.child);
    const refOrigin = `https://127.0.0.1:${ref.match[1]}`;
    const refAgent = spawn(bin, ['agent', '--server', `wss://127.0.0.1:${ref.match[1]}/connect`, '--token', agentToken], { stdio: 'ignore' });
    children.push(refAgent);
    const load = startLoad(bin);
    children.push(load.child);

    ctx.progress('preparing 1,000 small ConfigMaps, 200 of 20 KB, and RBAC for the impersonated member');
    const ns = `bench-${suffix}`;
    const big = `bench-big-${suffix}`;
    await admin.create('/api/v1/namespaces', { metadata: { name: ns } });
    await admin.create('/api/v1/namespaces', { metadata: { name: big } });
    await admin.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `bench-member-${suffix}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: member.user }],
    });
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => admin.create(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `cm-${i + j}` }, data: { v: randomBytes(48).toString('base64') } })));
    }
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => admin.create(`/api/v1/namespaces/${big}/configmaps`, { metadata: { name: `cm-${i + j}` }, data: { v: randomBytes(15 * 1024).toString('base64') } })));
    }

    const droverPids = [drover.server.child().pid ?? 0, registered.agent.child.pid ?? 0];
    const refPids = [ref.child.pid ?? 0, refAgent.pid ?? 0];
    const impersonate = { 'impersonate-user': [member.user], 'impersonate-group': member.groups };
    const target = (variant: Variant, path: string): Target => {
      switch (variant) {
        case 'straight': return { url: `${state.url}${path}`, headers: { authorization: [`Bearer ${state.adminToken}`] }, pids: [] };
        case 'impersonated': return { url: `${state.url}${path}`, headers: { authorization: [`Bearer ${state.adminToken}`], ...impersonate }, pids: [] };
        case 'reference': return { url: `${refOrigin}/k8s/clusters/c-ref${path}`, headers: { authorization: [`Bearer ${userToken}`] }, pids: refPids };
        case 'drover': return { url: `${drover.server.url}/k8s/clusters/${registered.id}${path}`, headers: { authorization: [`Bearer ${memberToken}`] }, pids: droverPids };
        default: return variant satisfies never;
      }
    };
    ctx.progress('waiting for the member\'s access downstream and the reference\'s tunnel');
    for (const v of variants) {
      const t = target(v, `/api/v1/namespaces/${ns}/configmaps?limit=1`);
      await eventually(`${v} to answer a LIST`, () => load.run(t.url, t.headers, 1, 1).then(() => true, () => undefined), 60_000);
    }

    // What each process burns with no request at all (keepalives, controllers, health checks):
    // it is in every per-request figure below, so it is reported on its own.
    const idleMs = 5_000;
    const idleBefore = [...droverPids, ...refPids].map(cpuUs);
    await new Promise((r) => setTimeout(r, idleMs));
    const idle = [...droverPids, ...refPids].map((pid, i) => (cpuUs(pid) - (idleBefore[i] ?? 0)) / idleMs);
    ctx.progress(`idle CPU ms/s: drover server ${idle[0]?.toFixed(1)}, agent ${idle[1]?.toFixed(1)}; reference server ${idle[2]?.toFixed(1)}, agent ${idle[3]?.toFixed(1)}`);

    const workloads: Workload[] = [
      { name: 'small GET, 1 at a time', path: '/api/v1/namespaces/default', concurrency: 1, perRound: 300 },
      { name: 'small GET, 8 concurrent', path: '/api/v1/namespaces/default', concurrency: 8, perRound: 600 },
      { name: 'LIST 1,000 ConfigMaps, 1 at a time', path: `/api/v1/namespaces/${ns}/configmaps`, concurrency: 1, perRound: 12 },
      { name: 'LIST 1,000, 4 concurrent', path: `/api/v1/namespaces/${ns}/configmaps`, concurrency: 4, perRound: 24 },
      { name: '200 × 20 KB LIST, 4 concurrent', path: `/api/v1/namespaces/${big}/configmaps`, concurrency: 4, perRound: 12 },
    ];
    const results: Record<string, Record<Variant, Figures>> = {};
    for (const w of workloads.filter((x) => x.name.includes(only))) {
      ctx.progress(`${w.name}: ${rounds} interleaved rounds of ${variants.join(', ')}`);
      const acc = Object.fromEntries(variants.map((v) => [v, { durations: [] as number[], wall: 0, bytes: 0, cpu: [0, 0] }]));
      // One unmeasured round of every variant first: it opens every connection, and the Node
      // processes, fresh from start-up, compile their hot paths and collect start-up garbage in
      // it. Measured from their first requests, a short run charged a one-off full GC and the
      // first compiles to the workload (the agent's LIST share at 4 rounds: 2,800-3,950 µs, at
      // 12 rounds 2,086); a server is measured as it runs for days, in its steady state.
      for (const v of variants) { const t = target(v, w.path); await load.run(t.url, t.headers, w.perRound, w.concurrency); }
      const measure = async (v: Variant): Promise<void> => {
        const t = target(v, w.path);
        const a = acc[v];
        if (!a) return;
        const before = t.pids.map(cpuUs);
        const answer = await load.run(t.url, t.headers, w.perRound, w.concurrency);
        t.pids.forEach((pid, i) => { a.cpu[i] = (a.cpu[i] ?? 0) + cpuUs(pid) - (before[i] ?? 0); });
        a.durations.push(...answer.durationsUs);
        a.wall += answer.wallUs;
        a.bytes += answer.bytes;
      };
      for (let round = 0; round < rounds; round += 1) for (const v of variants) await measure(v);
      results[w.name] = Object.fromEntries(variants.map((v) => {
        const a = acc[v];
        return [v, figures(a?.durations ?? [], a?.wall ?? 0, a?.bytes ?? 0, a?.cpu ?? [])];
      })) as Record<Variant, Figures>;
    }
    return { summary: summarize(results, idle), figures: { rounds, idleCpuMsPerSecond: { droverServer: idle[0], droverAgent: idle[1], referenceServer: idle[2], referenceAgent: idle[3] }, results } };
  } finally {
    for (const child of children) child.kill();
    // SIGTERM first, so an agent run with --cpu-prof writes its profile; drover.stop kills what is left
    // after 15 s (a graceful agent waits for its open streams).
    if (cluster) await Promise.race([cluster.agent.stop('SIGTERM'), new Promise((r) => setTimeout(r, 15_000))]);
    await drover.stop();
    await admin.close();
    await cp.stop();
  }
}

function summarize(results: Record<string, Record<Variant, Figures>>, idle: number[]): string {
  const pct = (a: number, b: number): string => `${((a / b) * 100).toFixed(0)} %`;
  const cpu = (f: Figures): string => `${f.cpuUsPerRequest.map((c) => c.toFixed(0)).join(' + ')} = ${f.cpuUsPerRequest.reduce((s, c) => s + c, 0).toFixed(0)}`;
  const total = (f: Figures): number => f.cpuUsPerRequest.reduce((s, c) => s + c, 0);
  const lines = [
    '## Drover vs the Go reference (bench/peers: remotedialer + UpgradeAwareHandler + client-go impersonation, HTTP/1.1 upstream); Go load generator, HTTP/1.1 keep-alive; single server process each',
    '',
    '| workload | variant | CPU µs/req (server + agent) | p50 ms | p99 ms | req/s | MiB/s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, r] of Object.entries(results)) {
    for (const v of variants) {
      const f = r[v];
      lines.push(`| ${name} | ${v} | ${f.cpuUsPerRequest.length ? cpu(f) : '–'} | ${f.p50Ms.toFixed(2)} | ${f.p99Ms.toFixed(2)} | ${f.perSecond.toFixed(0)} | ${f.mibPerSecond.toFixed(1)} |`);
    }
  }
  lines.push('', `Idle CPU (ms per second, no requests): Drover server ${idle[0]?.toFixed(1)}, agent ${idle[1]?.toFixed(1)}; reference server ${idle[2]?.toFixed(1)}, agent ${idle[3]?.toFixed(1)}.`);
  lines.push('', 'Targets (issue #21), Drover against the reference:', '');
  for (const [name, r] of Object.entries(results)) {
    const d = r.drover;
    const g = r.reference;
    lines.push(`- ${name}: CPU ${total(d).toFixed(0)} vs ${total(g).toFixed(0)} µs (${total(d) <= total(g) ? 'met' : 'missed'}); req/s ${d.perSecond.toFixed(0)} vs ${g.perSecond.toFixed(0)} (${d.perSecond >= g.perSecond ? 'met' : 'missed'}; ${pct(d.perSecond, r.impersonated.perSecond)} vs ${pct(g.perSecond, r.impersonated.perSecond)} of straight+impersonation); MiB/s ${d.mibPerSecond.toFixed(1)} vs ${g.mibPerSecond.toFixed(1)}; p50 added over straight+impersonation ${(d.p50Ms - r.impersonated.p50Ms).toFixed(2)} ms (reference ${(g.p50Ms - r.impersonated.p50Ms).toFixed(2)} ms)`);
  }
  return lines.join('\n');
}
