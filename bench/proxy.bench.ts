/**
 * The proxy chain over a direct connection, side by side in one run against one
 * real kube-apiserver: a small GET and a 1,000-object LIST, straight at the
 * apiserver vs through the chain (Drover's HTTPS listener, scrubbing, the cached
 * impersonation account, impersonated forwarding). Authentication is a stub that
 * answers at once (its own cost is measured by identity.bench.ts). Also: the first
 * request of a new user (its five objects created) vs the steady state.
 * Not covered here: the tunnel path (see tunnel.bench.ts) and 5,000 open watches.
 */
import { createServer } from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool as Client } from 'undici';
import { latencyStats, type BenchContext, type BenchResult, type LatencyStats } from './bench.ts';
import { silentLogger } from '../src/shared/log.ts';
import { KubeClient, resourcePath, resources } from '../src/kube/index.ts';
import { createProxyHandlers, KubeImpersonationAccounts, UpstreamPools, type ProxyCluster } from '../src/proxy/index.ts';
import { impersonationHeaders } from '../src/access/index.ts';
import { loadOrCreateTls } from '../src/server/tls.ts';
import type { AuthenticatedUser } from '../src/identity/index.ts';
import { startPrivateControlPlane } from '../test/testenv/index.ts';

const benchUser = (id: string): AuthenticatedUser => ({
  id, username: id, displayName: id, provider: 'local', principalIds: [`local://${id}`], groups: [], globalRole: 'admin', token: { id: 'token-bench' },
});

async function measure(client: Client, path: string, token: string, count: number, concurrency: number, extra: Record<string, string[]> = {}): Promise<LatencyStats> {
  const durations: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < count) {
      const t = performance.now();
      const res = await client.request({ method: 'GET', path, headers: { ...extra, authorization: `Bearer ${token}` } });
      await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
      if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}`);
      durations.push(performance.now() - t);
    }
  }));
  return latencyStats(durations, performance.now() - started);
}

export default async function proxyBench(ctx: BenchContext): Promise<BenchResult> {
  ctx.progress('starting a private control plane');
  const cp = await startPrivateControlPlane();
  const state = cp.state;
  const admin = new KubeClient({ endpoint: { server: state.url, caPem: state.caPem, token: state.adminToken } });
  const url = new URL(state.url);
  const ns = `bench-${randomBytes(3).toString('hex')}`;
  const accounts = new KubeImpersonationAccounts({ adminClient: () => admin, waitMs: 30_000 });
  const pools = new UpstreamPools();
  const cluster: ProxyCluster = {
    client: admin, adminToken: state.adminToken,
    upstream: {
      url, caPem: state.caPem,
      dial: () => new Promise((resolve, reject) => {
        const s = net.connect(Number(url.port), url.hostname, () => resolve(s));
        s.once('error', reject);
      }),
    },
  };
  let user = benchUser('u-bench');
  const handlers = createProxyHandlers({
    authenticator: { authenticate: () => Promise.resolve(user) },
    membership: { canAccessCluster: () => Promise.resolve(true) },
    clusters: { live: () => cluster, describe: (id) => Promise.resolve({ id, state: 'active', stateReason: '' }) },
    accounts, pools, logger: silentLogger(),
  });
  const tls = await loadOrCreateTls({ dataDir: mkdtempSync(join(tmpdir(), 'proxy-bench-')), publicHost: '127.0.0.1' });
  const server = createServer({ cert: tls.certPem, key: tls.keyPem, requestTimeout: 0, keepAliveTimeout: 65_000 }, handlers.request);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxyOrigin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const prefix = '/k8s/clusters/c-bench';
  const direct = new Client(state.url, { connect: { ca: state.caPem }, connections: 16 });
  const proxied = new Client(proxyOrigin, { connect: { ca: tls.caPem, rejectUnauthorized: false }, connections: 16 });
  try {
    ctx.progress('preparing 1,000 ConfigMaps and RBAC for the bench users');
    await admin.create('/api/v1/namespaces', { metadata: { name: ns } });
    await admin.create(resourcePath(resources.clusterrolebindings), {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${ns}-owner` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:cattle:authenticated' }],
    });
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => admin.create(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `cm-${i + j}` }, data: { v: 'x'.repeat(64) } })));
    }

    const firstStart = performance.now();
    await measure(proxied, `${prefix}/api/v1/namespaces/default`, 'x', 1, 1);
    const firstRequestMs = performance.now() - firstStart;
    const steady = await measure(proxied, `${prefix}/api/v1/namespaces/default`, 'x', 200, 1);
    const colds: number[] = [];
    for (let i = 0; i < 5; i++) {
      user = benchUser(`u-cold-${randomBytes(3).toString('hex')}`);
      const t = performance.now();
      await measure(proxied, `${prefix}/api/v1/namespaces/default`, 'x', 1, 1);
      colds.push(performance.now() - t);
    }
    user = benchUser('u-bench');

    const small = '/api/v1/namespaces/default';
    const list = `/api/v1/namespaces/${ns}/configmaps`;
    ctx.progress('small GET, sequential and 8 concurrent');
    await measure(direct, small, state.adminToken, 200, 4);
    const smallDirect = await measure(direct, small, state.adminToken, 2000, 1);
    const smallProxy = await measure(proxied, `${prefix}${small}`, 'x', 2000, 1);
    const smallDirectC = await measure(direct, small, state.adminToken, 4000, 8);
    const smallProxyC = await measure(proxied, `${prefix}${small}`, 'x', 4000, 8);
    // The apiserver's own cost of impersonation (an authorization check per header), without Drover in between.
    const saToken = await accounts.tokenFor('c-bench', user);
    const asUser = impersonationHeaders(user);
    const smallImp = await measure(direct, small, saToken, 2000, 1, asUser);
    const smallImpC = await measure(direct, small, saToken, 4000, 8, asUser);
    ctx.progress('1,000-object LIST');
    const listDirect = await measure(direct, list, state.adminToken, 100, 1);
    const listProxy = await measure(proxied, `${prefix}${list}`, 'x', 100, 1);
    const listDirectC = await measure(direct, list, state.adminToken, 200, 4);
    const listProxyC = await measure(proxied, `${prefix}${list}`, 'x', 200, 4);
    const listImpC = await measure(direct, list, saToken, 200, 4, asUser);

    const fmt = (s: LatencyStats): string => `p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms, ${s.perSecond.toFixed(0)}/s`;
    const summary = [
      '## proxy (direct connection, in-process chain, stub authenticator)',
      `- small GET sequential: direct ${fmt(smallDirect)}; proxy ${fmt(smallProxy)}; p50 added ${(smallProxy.p50Ms - smallDirect.p50Ms).toFixed(3)} ms (target ≤ 0.5)`,
      `- small GET 8 concurrent: direct ${fmt(smallDirectC)}; proxy ${fmt(smallProxyC)}; proxy/direct rps ${(smallProxyC.perSecond / smallDirectC.perSecond * 100).toFixed(0)} % (target ≥ 90 %)`,
      `- small GET straight at the apiserver with the same impersonation (account token + Impersonate-*): sequential ${fmt(smallImp)}, 8 concurrent ${fmt(smallImpC)}; proxy p50 added over that ${(smallProxy.p50Ms - smallImp.p50Ms).toFixed(3)} ms, proxy/that rps ${(smallProxyC.perSecond / smallImpC.perSecond * 100).toFixed(0)} %`,
      `- 1,000-object LIST sequential: direct ${fmt(listDirect)}; proxy ${fmt(listProxy)}`,
      `- 1,000-object LIST 4 concurrent: direct ${fmt(listDirectC)}; proxy ${fmt(listProxyC)}; proxy/direct rps ${(listProxyC.perSecond / listDirectC.perSecond * 100).toFixed(0)} %; direct impersonated ${fmt(listImpC)}`,
      `- first request of a new user (five objects created, token filled and accepted): first ${firstRequestMs.toFixed(0)} ms, then ${colds.map((c) => c.toFixed(0)).join('/')} ms; steady p50 ${steady.p50Ms.toFixed(2)} ms`,
    ].join('\n');
    return {
      summary,
      figures: { smallDirect, smallProxy, smallImp, smallImpC, listImpC, smallDirectC, smallProxyC, listDirect, listProxy, listDirectC, listProxyC, firstRequestMs, coldMs: colds, steady },
    };
  } finally {
    await direct.close();
    await proxied.close();
    server.close();
    await pools.close();
    await accounts.close();
    await admin.close();
    await cp.stop();
  }
}
