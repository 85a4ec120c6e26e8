/**
 * Revocation across replicas: two real `drover server` processes on one PostgreSQL
 * (the second on a copy of the first one's data dir). Each sample takes access away
 * through replica 2 and measures, from the moment replica 2 answered (the change is
 * committed), how long until replica 1 refuses, polling replica 1 back to back over a
 * kept-alive connection:
 *   - a token revoked (`DELETE /v1/tokens/:id`; replica 1 had the token cached),
 *   - a member removed from a cluster (`DELETE /v1/clusters/:id/members`; replica 1
 *     answers `GET /v1/clusters/:id` from its in-memory membership index).
 * The periodic full re-read is set to 10 minutes and the token cache re-reads after
 * 5 s, so what is measured is the change feed (LISTEN/NOTIFY).
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { createPostgresDatabase } from '../test/testenv/postgres.ts';
import { spawnServer, type ServerProcess } from '../test/e2e/identity-support.ts';
import { latencyStats, type BenchContext, type BenchResult } from './bench.ts';

const SAMPLES = 40;
const adminPassword = 'correct horse battery staple';
const userPassword = 'a-password-long-enough';

interface Client { call: (method: string, path: string, token: string, body?: unknown) => Promise<{ status: number; json: () => unknown }>; close: () => Promise<void> }

function client(server: ServerProcess): Client {
  const agent = new Agent({ connect: { ca: server.caPem() }, connections: 1 });
  return {
    async call(method, path, token, body) {
      const res = await request(`${server.url}${path}`, {
        method: method as 'GET', dispatcher: agent,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.body.text();
      return { status: res.statusCode, json: () => (text === '' ? undefined : JSON.parse(text) as unknown) };
    },
    close: () => agent.close(),
  };
}

async function ok<T>(answer: Promise<{ status: number; json: () => unknown }>, what: string): Promise<T> {
  const a = await answer;
  if (a.status >= 300) throw new Error(`${what}: ${a.status} ${JSON.stringify(a.json())}`);
  return a.json() as T;
}

/** ms from `since` until `refused()` first says so (polled back to back). */
async function untilRefused(since: number, refused: () => Promise<boolean>): Promise<number> {
  const deadline = since + 30_000;
  for (;;) {
    if (await refused()) return performance.now() - since;
    if (performance.now() > deadline) throw new Error('replica 1 still allows after 30 s');
  }
}

export default async function bench(ctx: BenchContext): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-bench-replicas-'));
  const db = await createPostgresDatabase('bench_replicas');
  const env = { DROVER_BOOTSTRAP_PASSWORD: adminPassword, DROVER_RESYNC_MS: '600000', DROVER_LOG_LEVEL: 'warn' };
  const one = await spawnServer({ dataDir: join(dir, 'one'), db, env });
  cpSync(join(dir, 'one'), join(dir, 'two'), { recursive: true });
  const two = await spawnServer({ dataDir: join(dir, 'two'), db, env });
  const c1 = client(one);
  const c2 = client(two);
  try {
    const login = async (c: Client, username: string, password: string): Promise<string> =>
      (await ok<{ token: string }>(c.call('POST', '/v1/login', '', { username, password }), `login ${username}`)).token;
    const admin = await login(c2, 'admin', adminPassword);
    await ok(c2.call('POST', '/v1/users', admin, { username: 'bench', password: userPassword }), 'create user');
    const user = await login(c1, 'bench', userPassword);
    const cluster = await ok<{ cluster: { id: string } }>(c2.call('POST', '/v1/clusters', admin, { name: 'bench' }), 'create cluster');
    const clusterId = cluster.cluster.id;

    ctx.progress(`replicas: ${SAMPLES} token revocations`);
    const revoke: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const issued = await ok<{ tokenId: string; token: string }>(c1.call('POST', '/v1/tokens', user, { description: `sample ${i}` }), 'issue token');
      await ok(c1.call('GET', '/v1/whoami', issued.token), 'token works on replica 1');
      await ok(c2.call('DELETE', `/v1/tokens/${issued.tokenId}`, admin), 'revoke');
      const since = performance.now();
      revoke.push(await untilRefused(since, async () => (await c1.call('GET', '/v1/whoami', issued.token)).status === 401));
    }

    ctx.progress(`replicas: ${SAMPLES} member removals`);
    const removal: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await ok(c2.call('POST', `/v1/clusters/${clusterId}/members`, admin, { user: 'bench', role: 'cluster-member' }), 'add member');
      // Wait until replica 1 lets the member in (the add travels the same way), then take it away.
      await untilRefused(performance.now(), async () => (await c1.call('GET', `/v1/clusters/${clusterId}`, user)).status === 200);
      await ok(c2.call('DELETE', `/v1/clusters/${clusterId}/members?user=bench`, admin), 'remove member');
      const since = performance.now();
      removal.push(await untilRefused(since, async () => (await c1.call('GET', `/v1/clusters/${clusterId}`, user)).status !== 200));
    }

    const r = latencyStats(revoke, 0);
    const m = latencyStats(removal, 0);
    const line = (what: string, s: typeof r): string => `| ${what} | ${s.count} | ${s.p50Ms.toFixed(1)} | ${s.p99Ms.toFixed(1)} | ${s.meanMs.toFixed(1)} |`;
    return {
      summary: [
        'Time from the change committing on replica 2 until replica 1 refuses (two replicas, one PostgreSQL, change feed over LISTEN/NOTIFY; polled back to back):',
        '',
        '| change | samples | p50 ms | p99 ms | mean ms |',
        '| --- | --- | --- | --- | --- |',
        line('token revoked', r),
        line('member removed', m),
      ].join('\n'),
      figures: { tokenRevoked: { p50Ms: r.p50Ms, p99Ms: r.p99Ms, meanMs: r.meanMs, samples: revoke }, memberRemoved: { p50Ms: m.p50Ms, p99Ms: m.p99Ms, meanMs: m.meanMs, samples: removal } },
    };
  } finally {
    await c1.close();
    await c2.close();
    await two.stop();
    await one.stop();
  }
}
