/**
 * Relay overhead between replicas: two real `drover server` processes on one real
 * PostgreSQL, one real agent connected to replica 1, one real kube-apiserver. The
 * same small GET through the proxy goes to replica 1 (it holds the tunnel: served
 * there) and to replica 2 (relayed to replica 1 over the peers' mutual TLS),
 * interleaved round by round so load drift on the shared machine hits both alike.
 * Keep-alive clients (undici), sequential and 8 concurrent. The ratio is what counts.
 */
import { Pool } from 'undici';
import { latencyStats, timedGets, type BenchContext, type BenchResult, type LatencyStats } from './bench.ts';
import { registerBenchCluster } from './clusters.ts';
import { eventually, startPrivateControlPlane } from '../test/testenv/index.ts';
import { startReplicaSet } from '../test/testenv/replicas.ts';

const rounds = 10;
const perRound = Number(process.env.DROVER_BENCH_RELAY_REQUESTS ?? 300) / rounds;

export default async function relayBench(ctx: BenchContext): Promise<BenchResult> {
  ctx.progress('starting a control plane, PostgreSQL and 2 replicas');
  const cp = await startPrivateControlPlane();
  const set = await startReplicaSet(2);
  try {
    const [owner, peer] = set.replicas;
    if (!owner || !peer) throw new Error('two replicas expected');
    const { path, token } = await registerBenchCluster(set, cp.state.kubeconfigPath, owner.url, 'bench');
    // The peer learns that replica 1 holds the tunnel at its next heartbeat's read (≤ 2 s).
    await eventually('the peer to relay', async () => {
      const pool = new Pool(peer.url, { connect: { ca: peer.caPem() } });
      try {
        return await timedGets(pool, path, token, 1, 1).then(() => true, () => undefined);
      } finally {
        await pool.close();
      }
    }, 30_000);
    const results: Record<string, LatencyStats> = {};
    for (const concurrency of [1, 8]) {
      const pools = { local: new Pool(owner.url, { connect: { ca: owner.caPem() }, connections: concurrency }), relayed: new Pool(peer.url, { connect: { ca: peer.caPem() }, connections: concurrency }) };
      const samples: Record<'local' | 'relayed', { durations: number[]; wallMs: number }> = { local: { durations: [], wallMs: 0 }, relayed: { durations: [], wallMs: 0 } };
      // Warm both (connections, the owner's caches, the peer connection pool).
      for (const pool of Object.values(pools)) await timedGets(pool, path, token, 50, concurrency);
      ctx.progress(`measuring at concurrency ${concurrency}`);
      for (let round = 0; round < rounds; round += 1) {
        for (const variant of ['local', 'relayed'] as const) {
          const started = performance.now();
          samples[variant].durations.push(...await timedGets(pools[variant], path, token, perRound, concurrency));
          samples[variant].wallMs += performance.now() - started;
        }
      }
      for (const variant of ['local', 'relayed'] as const) results[`${variant}-c${concurrency}`] = latencyStats(samples[variant].durations, samples[variant].wallMs);
      await Promise.all(Object.values(pools).map((p) => p.close()));
    }
    const line = (c: number): string => {
      const local = results[`local-c${c}`];
      const relayed = results[`relayed-c${c}`];
      if (!local || !relayed) return '';
      return `| ${c} | ${local.p50Ms.toFixed(2)} | ${relayed.p50Ms.toFixed(2)} | +${(relayed.p50Ms - local.p50Ms).toFixed(2)} | ${local.perSecond.toFixed(0)} | ${relayed.perSecond.toFixed(0)} | ${(100 * relayed.perSecond / local.perSecond).toFixed(0)} % |`;
    };
    const summary = [
      'Small GET through the proxy, served by the replica holding the tunnel vs relayed from a peer replica (2 real servers, one PostgreSQL, one agent, real kube-apiserver).',
      '',
      '| concurrency | owner p50 ms | relayed p50 ms | relay adds | owner req/s | relayed req/s | relayed/owner |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      line(1), line(8),
    ].join('\n');
    return { summary, figures: results };
  } finally {
    await set.stop();
    await cp.stop();
  }
}
