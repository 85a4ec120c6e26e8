/**
 * GET latency of KubeClient against a raw keep-alive `https.request` to the same
 * kube-apiserver, side by side in interleaved rounds; plus KubeClient through a `dial`
 * function (TLS over a dialed TCP stream, as through a tunnel) and a WatchCache read.
 */
import { Agent, request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { latencyStats, type BenchContext, type BenchResult, type LatencyStats } from './bench.ts';
import { KubeClient, WatchCache, type Namespace } from '../src/kube/index.ts';
import { sharedControlPlane } from '../test/testenv/index.ts';

const rounds = 10;
const perRound = 200;
const path = '/api/v1/namespaces/default';

function rawGet(agent: Agent, url: URL, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`raw GET answered ${res.statusCode}`));
        else {
          JSON.parse(Buffer.concat(chunks).toString());
          resolve();
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function timed(samples: number[], n: number, fn: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
}

const row = (name: string, s: LatencyStats): string =>
  `| ${name} | ${s.p50Ms.toFixed(3)} | ${s.p99Ms.toFixed(3)} | ${s.meanMs.toFixed(3)} |`;

export default async function bench(ctx: BenchContext): Promise<BenchResult> {
  const cp = await sharedControlPlane();
  const url = new URL(cp.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: cp.caPem });
  const client = new KubeClient({ endpoint: { server: cp.url, caPem: cp.caPem, token: cp.adminToken } });
  const dial = (): Promise<Socket> => new Promise((resolve, reject) => {
    const s = connect(Number(url.port), '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const dialed = new KubeClient({ endpoint: { server: `https://kubernetes.default.svc:${url.port}`, caPem: cp.caPem, token: cp.adminToken, dial } });
  const cache = new WatchCache<Namespace>({ source: client, path: '/api/v1/namespaces' }).start();
  await cache.waitForSync();

  const samples = { raw: [] as number[], kube: [] as number[], dialed: [] as number[], cache: [] as number[] };
  // Warm up every connection and JIT path before measuring.
  await timed([], 50, () => rawGet(agent, url, cp.adminToken));
  await timed([], 50, () => client.get(path));
  await timed([], 50, () => dialed.get(path));
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    ctx.progress(`kube-client round ${r + 1}/${rounds}`);
    await timed(samples.raw, perRound, () => rawGet(agent, url, cp.adminToken));
    await timed(samples.kube, perRound, () => client.get(path));
    await timed(samples.dialed, perRound, () => dialed.get(path));
    await timed(samples.cache, perRound, () => Promise.resolve(cache.get(undefined, 'default')));
  }
  const wallMs = performance.now() - started;
  const apiCallsDuringCacheReads = cache.stats.apiCalls;
  await cache.close();
  await client.close();
  await dialed.close();
  agent.destroy();

  const stats = {
    rawHttps: latencyStats(samples.raw, wallMs),
    kubeClient: latencyStats(samples.kube, wallMs),
    kubeClientDialed: latencyStats(samples.dialed, wallMs),
    watchCacheGet: latencyStats(samples.cache, wallMs),
  };
  const ratio = (a: LatencyStats, b: LatencyStats): string => (a.p50Ms / b.p50Ms).toFixed(2);
  const summary = [
    `GET ${path}, ${rounds} interleaved rounds of ${perRound} sequential requests each, one keep-alive connection per client.`,
    '',
    '| client | p50 ms | p99 ms | mean ms |',
    '| --- | --- | --- | --- |',
    row('raw https.request (keep-alive)', stats.rawHttps),
    row('KubeClient', stats.kubeClient),
    row('KubeClient via dial (TLS over dialed TCP)', stats.kubeClientDialed),
    row('WatchCache.get (no API call)', stats.watchCacheGet),
    '',
    `KubeClient / raw p50: ${ratio(stats.kubeClient, stats.rawHttps)}; dialed / raw p50: ${ratio(stats.kubeClientDialed, stats.rawHttps)}. ` +
      `WatchCache API calls during the run: ${apiCallsDuringCacheReads} (1 list page + 1 watch).`,
  ].join('\n');
  return { summary, figures: { ...stats, apiCallsDuringCacheReads, rounds, perRound } };
}
