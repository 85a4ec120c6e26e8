/**
 * Throughput of one host with `drover server --workers N`: a real server on a real
 * PostgreSQL with 1 and with 2 workers (and `DROVER_BENCH_WORKERS`, default the
 * number of cores, when that is more), one real agent, one real kube-apiserver; a
 * small GET through the proxy, 16 keep-alive connections (spread over the workers by
 * node:cluster), so some requests are relayed between workers as in production.
 */
import { cpus } from 'node:os';
import { Pool } from 'undici';
import { latencyStats, timedGets, type BenchContext, type BenchResult, type LatencyStats } from './bench.ts';
import { registerBenchCluster } from './clusters.ts';
import { startPrivateControlPlane } from '../test/testenv/index.ts';
import { startReplicaSet } from '../test/testenv/replicas.ts';

const requests = Number(process.env.DROVER_BENCH_WORKER_REQUESTS ?? 1500);
const connections = 16;

async function throughput(ctx: BenchContext, workers: number, kubeconfigPath: string): Promise<LatencyStats> {
  ctx.progress(`${workers} worker(s): starting`);
  const set = await startReplicaSet(1, { serverArgs: ['--workers', String(workers)] });
  try {
    const server = set.replicas[0];
    if (!server) throw new Error('no server');
    const { path, token } = await registerBenchCluster(set, kubeconfigPath, server.url, 'workers');
    const pool = new Pool(server.url, { connect: { ca: server.caPem() }, connections });
    try {
      await timedGets(pool, path, token, 200, connections);
      ctx.progress(`${workers} worker(s): measuring`);
      const started = performance.now();
      const durations = await timedGets(pool, path, token, requests, connections);
      return latencyStats(durations, performance.now() - started);
    } finally {
      await pool.close();
    }
  } finally {
    await set.stop();
  }
}

export default async function workersBench(ctx: BenchContext): Promise<BenchResult> {
  const cp = await startPrivateControlPlane();
  try {
    const most = Number(process.env.DROVER_BENCH_WORKERS ?? cpus().length);
    const counts = [...new Set([1, 2, most])].filter((n) => n >= 1).sort((a, b) => a - b);
    const results: Record<string, LatencyStats> = {};
    for (const n of counts) results[`workers-${n}`] = await throughput(ctx, n, cp.state.kubeconfigPath);
    const base = results['workers-1']?.perSecond ?? Number.NaN;
    const rows = counts.map((n) => {
      const r = results[`workers-${n}`];
      return r ? `| ${n} | ${r.perSecond.toFixed(0)} | ${(r.perSecond / base).toFixed(2)}× | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} |` : '';
    });
    const summary = [
      `Small GET through the proxy, ${connections} keep-alive connections, one server with --workers N on PostgreSQL (${cpus().length} cores, shared with the control plane, PostgreSQL, the agent and this load generator).`,
      '',
      '| workers | req/s | vs 1 | p50 ms | p99 ms |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n');
    return { summary, figures: results };
  } finally {
    await cp.stop();
  }
}
