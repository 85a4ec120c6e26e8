/**
 * The RBAC reconciler at scale on a real kube-apiserver: 1,000 users x 10
 * projects (3 namespaces each, every user in every project, one in five as
 * project-owner) plus 20 cluster members, reconciled from scratch, then again
 * after a "server restart" (a new store-backed AccessService read back from the
 * database, a new client and a new reconciler), which must make no writes.
 * Downstream API calls are counted by the KubeClient (lists, watches, writes).
 * Impersonation accounts are out of scope here (a no-op stands in; see the proxy bench).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext, BenchResult } from './bench.ts';
import { startPrivateControlPlane } from '../test/testenv/index.ts';
import { AccessService, RbacReconciler, PROJECT_ANNOTATION } from '../src/access/index.ts';
import type { ClusterService, LiveCluster } from '../src/clusters/index.ts';
import { KubeClient, resourcePath, resources } from '../src/kube/index.ts';
import { silentLogger } from '../src/logging/index.ts';
import { openStore } from '../src/store/index.ts';

const USERS = 1000;
const PROJECTS = 10;
const NAMESPACES_PER_PROJECT = 3;

export default async function reconcileBench(ctx: BenchContext): Promise<BenchResult> {
  const cp = await startPrivateControlPlane();
  const dir = mkdtempSync(join(tmpdir(), 'drover-reconcile-bench-'));
  try {
    const store = await openStore({ dataDir: dir });
    const clusterId = 'c-bench1';
    const now = new Date().toISOString();
    await store.db.insertInto('clusters').values({
      id: clusterId, name: 'bench', display_name: 'bench', state: 'active', state_reason: '', registration_digest: 'bench',
      registration_expires_at: null, previous_digest: null, previous_valid_until: null, api_server: null, ca_pem: null,
      kubernetes_version: null, node_count: null, capacity: null, tunnel: null, last_seen_at: null, created_at: now, updated_at: now,
    }).execute();
    const setup = new AccessService(store.db, silentLogger());
    const admin = new KubeClient({ endpoint: { server: cp.state.url, caPem: cp.state.caPem, token: cp.state.adminToken } });
    ctx.progress(`creating ${PROJECTS} projects, ${PROJECTS * NAMESPACES_PER_PROJECT} namespaces, ${USERS * PROJECTS + 20} bindings`);
    for (let p = 0; p < PROJECTS; p += 1) {
      const project = await setup.createProject(clusterId, `proj-${p}`);
      for (let n = 0; n < NAMESPACES_PER_PROJECT; n += 1) {
        await admin.create(resourcePath(resources.namespaces), {
          apiVersion: 'v1', kind: 'Namespace', metadata: { name: `bench-${p}-${n}`, annotations: { [PROJECT_ANNOTATION]: `${clusterId}:${project.id}` } },
        });
      }
      for (let u = 0; u < USERS; u += 1) {
        await setup.addBinding({ clusterId, projectId: project.id, roleTemplate: u % 5 === 0 ? 'project-owner' : 'project-member', subject: { kind: 'user', userId: `u-bench${u}` } });
      }
    }
    for (let u = 0; u < 20; u += 1) await setup.addBinding({ clusterId, roleTemplate: 'cluster-member', subject: { kind: 'user', userId: `u-bench${u}` } });

    const run = async (label: string): Promise<{ ms: number; writes: number; apiCalls: number; passes: number }> => {
      const access = new AccessService(store.db, silentLogger());
      await access.whenReady();
      const client = new KubeClient({ endpoint: { server: cp.state.url, caPem: cp.state.caPem, token: cp.state.adminToken } });
      const started = performance.now();
      const reconciler = new RbacReconciler({
        access,
        clusters: { list: () => Promise.resolve([{ id: clusterId }]) } as unknown as ClusterService,
        // The cluster is live from the start: onLive replays it to the new subscriber, as ClusterControllers does.
        controllers: {
          live: () => ({ client }) as unknown as LiveCluster,
          onLive: (listener) => { listener(clusterId, { client } as unknown as LiveCluster); return () => undefined; },
          onGone: () => () => undefined,
        },
        accounts: { ensure: () => Promise.resolve(), remove: () => Promise.resolve(), holders: () => Promise.resolve([]) },
        lookupUser: () => Promise.resolve(undefined),
        logger: silentLogger(),
      });
      const stats = await reconciler.settled(clusterId, 120_000);
      const ms = performance.now() - started;
      const apiCalls = client.stats.requests + client.stats.watches;
      await reconciler.close();
      await client.close();
      ctx.progress(`${label}: ${ms.toFixed(0)} ms, ${stats.writes} writes, ${apiCalls} API calls, ${stats.passes} passes`);
      return { ms, writes: stats.writes, apiCalls, passes: stats.passes };
    };

    const scratch = await run('from scratch');
    const restart = await run('after restart');
    const count = async (ref: typeof resources.rolebindings | typeof resources.clusterrolebindings | typeof resources.clusterroles): Promise<number> =>
      (await admin.list(resourcePath(ref), { labelSelector: 'app.kubernetes.io/managed-by=drover,drover.io/component=rbac' })).items.length;
    const objects = { roleBindings: await count(resources.rolebindings), clusterRoleBindings: await count(resources.clusterrolebindings), clusterRoles: await count(resources.clusterroles) };
    await admin.close();
    await store.close();
    const bindings = USERS * PROJECTS + 20;
    return {
      summary: [
        `- ${USERS} users x ${PROJECTS} projects (${NAMESPACES_PER_PROJECT} namespaces each), ${bindings} Drover bindings, on a real kube-apiserver:`,
        `  - from scratch: ${scratch.ms.toFixed(0)} ms, ${scratch.writes} writes, ${scratch.apiCalls} API calls (lists and watches included), ${scratch.passes} passes`,
        `  - after a restart: ${restart.ms.toFixed(0)} ms, **${restart.writes} writes**, ${restart.apiCalls} API calls (the initial lists and watches)`,
        `  - downstream objects: ${objects.roleBindings} RoleBindings, ${objects.clusterRoleBindings} ClusterRoleBindings, ${objects.clusterRoles} ClusterRoles (per-binding design: ${USERS * PROJECTS * NAMESPACES_PER_PROJECT} RoleBindings)`,
      ].join('\n'),
      figures: { users: USERS, projects: PROJECTS, namespacesPerProject: NAMESPACES_PER_PROJECT, bindings, scratch, restart, objects },
    };
  } finally {
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
