/**
 * Memory per agent session with 3 replicas: 3 real `drover server` processes on one
 * real PostgreSQL behind a real HAProxy (test/testenv/replicas.ts), a real
 * kube-apiserver, `DROVER_BENCH_AGENTS` (default 1,000) registered clusters and one
 * agent session for each, spread over the replicas by the load balancer.
 *
 * The agents are not 1,000 `drover agent` processes (about 80 MB each, this machine
 * could not hold them): they are 1,000 instances of the real agent code (`Agent` from
 * src/agent/, which uses the real tunnel client of src/tunnel/) in this one load
 * process, each with its own cluster's registration token, each doing what
 * `drover agent --kubeconfig` does: apply its account in the cluster, pin the
 * server's CA, dial the load balancer, hold the tunnel. All 1,000 clusters are the
 * same kube-apiserver, so every replica runs the controller work of the clusters it
 * owns (status, node and event watches, RBAC) against it, as it would against many.
 *
 * Measured per replica: resident set (/proc/PID/status VmRSS) and V8 heap in use (the
 * replica's own /metrics; the lowest of 5 samples, as collections come and go), with the clusters registered and no agent, and again with
 * every session up and settled; bytes per session = the growth / that replica's
 * sessions. Also: how long until all clusters are Active (from the first agent's
 * start), and that every replica still answers (`drover replicas list` through the
 * load balancer, /healthz on each).
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { Agent as HttpAgent, request } from 'undici';
import { Agent } from '../src/agent/index.ts';
import { silentLogger } from '../src/logging/index.ts';
import { startPrivateControlPlane } from '../test/testenv/index.ts';
import { startReplicaSet } from '../test/testenv/replicas.ts';
import { adminPassword, type ClusterView, type Registration } from '../test/testenv/drover.ts';
import type { ServerProcess } from '../test/e2e/identity-support.ts';
import type { BenchContext, BenchResult } from './bench.ts';

const agents = Number(process.env.DROVER_BENCH_AGENTS ?? 1000);
/** Agents starting at once (each applies its account in the cluster first). */
const startConcurrency = 20;
const settleMs = 15_000;
/** How long after the last agent connected the clusters may take to be Active. */
const activeWaitMs = Number(process.env.DROVER_BENCH_ACTIVE_WAIT_MS ?? 300_000);

interface Memory { rssBytes: number; heapUsedBytes: number }

/** Runs `task` for every item, `concurrency` at a time. */
async function eachLimited<T>(items: T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await task(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

export default async function bench(ctx: BenchContext): Promise<BenchResult> {
  ctx.progress('replicas-memory: starting a control plane, PostgreSQL, HAProxy and 3 replicas');
  const cp = await startPrivateControlPlane();
  const set = await startReplicaSet(3, { env: { DROVER_LOG_LEVEL: 'warn' } });
  const http = new HttpAgent({ connect: { ca: readFileSync(`${set.replicas[0]?.dataDir ?? ''}/ca.crt`, 'utf8') }, connections: 16 });
  const running: Agent[] = [];
  try {
    const call = async <T>(url: string, method: 'GET' | 'POST', token: string, body?: unknown): Promise<T> => {
      const res = await request(url, {
        method, dispatcher: http, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${text.slice(0, 300)}`);
      return (url.endsWith('/metrics') ? text : JSON.parse(text)) as T;
    };
    const memoryOf = async (replica: ServerProcess): Promise<Memory> => {
      const status = readFileSync(`/proc/${replica.child().pid}/status`, 'utf8');
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      const metrics = await call<string>(`${replica.url}/metrics`, 'GET', '');
      const heap = Number(/^drover_nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1] ?? Number.NaN);
      return { rssBytes: rssKb * 1024, heapUsedBytes: heap };
    };
    // Heap in use moves with every collection: the lowest of 5 samples a second apart is the
    // closest to what is live; RSS is taken at the last.
    const memories = async (): Promise<Memory[]> => {
      let lowest: Memory[] = [];
      for (let sample = 0; sample < 5; sample += 1) {
        if (sample > 0) await new Promise((r) => setTimeout(r, 1_000));
        const now = await Promise.all(set.replicas.map(memoryOf));
        lowest = now.map((m, i) => ({ rssBytes: m.rssBytes, heapUsedBytes: Math.min(m.heapUsedBytes, lowest[i]?.heapUsedBytes ?? Infinity) }));
      }
      return lowest;
    };
    const admin = (await call<{ token: string }>(`${set.lb.url}/v1/login`, 'POST', '', { username: 'admin', password: adminPassword })).token;

    ctx.progress(`replicas-memory: registering ${agents} clusters`);
    const registrations: Registration[] = [];
    await eachLimited(Array.from({ length: agents }, (_, i) => i), 8, async (i) => {
      const created = await call<{ registration: Registration }>(`${set.lb.url}/v1/clusters`, 'POST', admin, { name: `mem-${i}` });
      registrations[i] = created.registration;
    });
    await new Promise((r) => setTimeout(r, settleMs));
    const before = await memories();

    ctx.progress(`replicas-memory: starting ${agents} agent sessions through the load balancer`);
    const started = performance.now();
    // A failed list (a replica overwhelmed) is counted and polled again, not the end of the bench.
    const listFailures: string[] = [];
    const activeCount = async (): Promise<number | undefined> => {
      try {
        return (await call<ClusterView[]>(`${set.lb.url}/v1/clusters`, 'GET', admin)).filter((c) => c.state === 'active').length;
      } catch (error) {
        listFailures.push(error instanceof Error ? error.message : String(error));
        return undefined;
      }
    };
    let restarts = 0;
    await eachLimited(registrations, startConcurrency, async (registration) => {
      // A start that fails (the CA fetch or an account write timing out on a busy machine)
      // is tried again, as Kubernetes restarts a crashed agent pod.
      for (let attempt = 1; ; attempt += 1) {
        const agent = new Agent({
          serverUrl: set.lb.url, registrationToken: registration.token, caChecksum: registration.caChecksum,
          kubeconfig: cp.state.kubeconfigPath, mode: 'cluster', env: {}, logger: silentLogger(), backoff: { initialMs: 1_000, maxMs: 5_000 },
        });
        try {
          await agent.start();
          running.push(agent);
          break;
        } catch (error) {
          await agent.close().catch(() => undefined);
          if (attempt === 5) throw error;
          restarts += 1;
        }
      }
      if (running.length % 100 === 0) ctx.progress(`replicas-memory: ${running.length} agents started`);
    });
    const allConnectedMs = performance.now() - started;
    ctx.progress(`replicas-memory: ${agents} agents connected after ${(allConnectedMs / 1000).toFixed(1)} s; waiting for the clusters to be Active`);
    // A busy machine may leave some clusters not Active (probes through the tunnel time
    // out): the memory is measured all the same, and the summary says how many were.
    let active = 0;
    let allActiveMs: number | undefined;
    for (const deadline = Date.now() + activeWaitMs; ;) {
      active = await activeCount() ?? active;
      if (active === agents) allActiveMs = performance.now() - started;
      if (active === agents || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    ctx.progress(`replicas-memory: ${active} of ${agents} Active; settling`);
    await new Promise((r) => setTimeout(r, settleMs));
    const after = await memories();

    // Every replica still answers: the replica list through the load balancer, and each one's /healthz.
    const listStarted = performance.now();
    // Reported, not asserted: at 1,000 sessions on a busy 2-core VM it answered 500 (docs/ha.md).
    const list = await set.cli('replicas', 'list', '-o', 'json').then((out) => JSON.parse(out) as Array<{ id: string; address: string; live: boolean; owns: string[] }>,
      (error: unknown) => { listFailures.push(`drover replicas list: ${error instanceof Error ? error.message : String(error)}`); return []; });
    const listMs = performance.now() - listStarted;
    for (const replica of set.replicas) await call(`${replica.url}/healthz`, 'GET', '');
    // Reported, not asserted: a replica whose heartbeat falls behind under this load shows as not live.
    const live = list.filter((r) => r.live).length;
    // Sessions per replica from the replicas' own tunnel rows (not `owns`, which counts only
    // live replicas); a replica's advertised address is its listen address, 127.0.0.1:<port>.
    const db = new pg.Client({ connectionString: set.dbUrl });
    await db.connect();
    const held = await db.query<{ address: string; sessions: string }>('SELECT r.address, SUM(t.sessions) AS sessions FROM cluster_tunnels t JOIN replicas r ON r.id = t.replica_id GROUP BY r.address')
      .finally(() => db.end());
    const sessionsOf = (replica: ServerProcess): number => Number(held.rows.find((r) => r.address.endsWith(`:${replica.port}`))?.sessions ?? 0);

    const rows = set.replicas.map((replica, i) => {
      const b = before[i] as Memory;
      const a = after[i] as Memory;
      const sessions = sessionsOf(replica);
      return { replica: i + 1, sessions, before: b, after: a, rssPerSessionBytes: (a.rssBytes - b.rssBytes) / sessions, heapPerSessionBytes: (a.heapUsedBytes - b.heapUsedBytes) / sessions };
    });
    const total = (pick: (m: Memory) => number, of: Memory[]): number => of.reduce((sum, m) => sum + pick(m), 0);
    const rssPerSession = (total((m) => m.rssBytes, after) - total((m) => m.rssBytes, before)) / agents;
    const heapPerSession = (total((m) => m.heapUsedBytes, after) - total((m) => m.heapUsedBytes, before)) / agents;
    const load = process.memoryUsage();
    // What the replicas logged as errors meanwhile (the last few lines of each), for the 500s above.
    const serverErrors = set.replicas.map((r) => r.output().split('\n').filter((l) => /"level":(50|60)|\berror\b/i.test(l)).slice(-5).map((l) => l.slice(0, 600)));
    const summary = [
      `${agents} registered clusters and ${agents} agent sessions over 3 replicas (one PostgreSQL, HAProxy in TCP mode, one kube-apiserver behind every cluster). The agents are ${agents} instances of the real agent code in one load process, not ${agents} processes.`,
      '',
      '| replica | sessions | RSS before MB | RSS after MB | heap before MB | heap after MB | RSS per session KB | heap per session KB |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.replica} | ${r.sessions} | ${mb(r.before.rssBytes)} | ${mb(r.after.rssBytes)} | ${mb(r.before.heapUsedBytes)} | ${mb(r.after.heapUsedBytes)} | ${(r.rssPerSessionBytes / 1024).toFixed(1)} | ${(r.heapPerSessionBytes / 1024).toFixed(1)} |`),
      '',
      `All replicas: ${(rssPerSession / 1024).toFixed(1)} KB RSS and ${(heapPerSession / 1024).toFixed(1)} KB heap per agent session ("before": clusters registered, no agent; "after": every session up, ${settleMs / 1000} s settled).`,
      `All ${agents} agents connected after ${(allConnectedMs / 1000).toFixed(1)} s (${startConcurrency} starting at a time, ${restarts} starts tried again); ${allActiveMs === undefined ? `${active} of ${agents} clusters were Active ${activeWaitMs / 1000} s later` : `all clusters Active after ${(allActiveMs / 1000).toFixed(1)} s`}; then \`drover replicas list\` took ${listMs.toFixed(0)} ms showing ${live} of 3 replicas live, and every replica's /healthz answered.`,
      `The load process holding the ${agents} agents: ${mb(load.rss)} MB RSS, ${mb(load.heapUsed)} MB heap.`,
      ...(listFailures.length === 0 ? [] : [`Failed calls: ${listFailures.length} (first: ${listFailures[0]?.slice(0, 200)}); the replicas' error lines are in the figures.`]),
    ].join('\n');
    return { summary, figures: { agents, perReplica: rows, rssPerSessionBytes: rssPerSession, heapPerSessionBytes: heapPerSession, allConnectedMs, restarts, active, allActiveMs: allActiveMs ?? null, liveReplicas: live, replicaList: list, listFailures, serverErrors, replicasListMs: listMs, loadProcess: { rssBytes: load.rss, heapUsedBytes: load.heapUsed } } };
  } finally {
    await Promise.all(running.map((a) => a.close().catch(() => undefined)));
    await http.close();
    await set.stop();
    await cp.stop();
  }
}
