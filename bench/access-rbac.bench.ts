/**
 * Grouped RBAC rendering (what src/access implements) against the per-binding
 * design (the reference's legacy model: one RoleBinding per binding per
 * namespace), side by side:
 *
 * 1. Pure: 1,000 users x 10 projects x 3 namespaces, every user in every project
 *    and every user in one project: object counts, bytes, render time.
 * 2. Real kube-apiserver, a smaller scale (200 users x 5 projects x 2 namespaces):
 *    time and API calls to create each design from scratch, and the authorizer's
 *    SubjectAccessReview latency with each design in place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { latencyStats, type BenchContext, type BenchResult } from './bench.ts';
import { kubeRequest, sharedControlPlane, type KubeTarget } from '../test/testenv/index.ts';
import { renderClusterRbac, RoleTemplateCatalog, type ClusterAccessState, type Project, type ProjectRoleTemplateBinding } from '../src/access/index.ts';
import { type ClusterRoleBinding, type RoleBinding } from '../src/downstream/index.ts';

const catalog = RoleTemplateCatalog.withBuiltins();

function scenario(users: number, projects: number, namespacesPer: number, projectsPerUser: number, tag: string): ClusterAccessState {
  const ps: Project[] = Array.from({ length: projects }, (_, p) => ({
    id: `p-${tag}-${p}`, clusterId: 'c-bench', name: `p${p}`, namespaces: Array.from({ length: namespacesPer }, (_, n) => `ns-${tag}-${p}-${n}`),
  }));
  const bindings: ProjectRoleTemplateBinding[] = [];
  for (let u = 0; u < users; u += 1) {
    for (let k = 0; k < projectsPerUser; k += 1) {
      const p = (u + k) % projects;
      bindings.push({ id: `b-${u}-${p}`, clusterId: 'c-bench', projectId: `p-${tag}-${p}`, roleTemplate: u % 5 === 0 ? 'project-owner' : 'project-member', subject: { kind: 'user', userId: `u-${tag}-${u}` } });
    }
  }
  return { clusterId: 'c-bench', catalog, projects: ps, clusterBindings: [], projectBindings: bindings };
}

/** The per-binding design: one RoleBinding per (binding, namespace), one namespace ClusterRoleBinding per binding. */
function perBinding(state: ClusterAccessState): { roleBindings: RoleBinding[]; clusterRoleBindings: ClusterRoleBinding[] } {
  const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 10);
  const projects = new Map(state.projects.map((p) => [p.id, p]));
  const roleBindings: RoleBinding[] = [];
  const clusterRoleBindings: ClusterRoleBinding[] = [];
  for (const b of state.projectBindings) {
    if (b.subject.kind !== 'user') continue;
    const subjects = [{ kind: 'User' as const, apiGroup: 'rbac.authorization.k8s.io', name: b.subject.userId }];
    for (const ns of projects.get(b.projectId)?.namespaces ?? []) {
      roleBindings.push({
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `rb-${hash(`${ns}${b.id}`)}`, namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `drover-rt-${b.roleTemplate}` }, subjects,
      });
    }
    clusterRoleBindings.push({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `crb-${hash(b.id)}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `drover-${b.projectId}-namespaces-view` }, subjects,
    });
  }
  return { roleBindings, clusterRoleBindings };
}

const bytes = (objects: unknown[]): number => objects.reduce<number>((n, o) => n + JSON.stringify(o).length, 0);

function pure(users: number, projectsPerUser: number): Record<string, number> {
  const state = scenario(users, 10, 3, projectsPerUser, 'x');
  const started = performance.now();
  const grouped = renderClusterRbac(state);
  const renderMs = performance.now() - started;
  const legacy = perBinding(state);
  return {
    renderMs: Math.round(renderMs),
    groupedRoleBindings: grouped.roleBindings.length, groupedClusterRoleBindings: grouped.clusterRoleBindings.length, groupedClusterRoles: grouped.clusterRoles.length,
    perBindingRoleBindings: legacy.roleBindings.length, perBindingClusterRoleBindings: legacy.clusterRoleBindings.length,
    groupedBindingBytes: bytes([...grouped.roleBindings, ...grouped.clusterRoleBindings]),
    perBindingBytes: bytes([...legacy.roleBindings, ...legacy.clusterRoleBindings]),
    largestGroupedObjectBytes: Math.max(...[...grouped.roleBindings, ...grouped.clusterRoleBindings].map((o) => JSON.stringify(o).length)),
  };
}

/** Cluster-scoped objects this bench created, deleted at the end (namespaces take their RoleBindings with them). */
const createdClusterScoped: string[] = [];

async function createAll(
  target: KubeTarget, objects: { kind: string; metadata: { name: string; namespace?: string } }[], allowExisting = false, concurrency = 8,
): Promise<{ ms: number; calls: number }> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const o = objects[next++];
      if (!o) return;
      const path = o.kind === 'Namespace' ? '/api/v1/namespaces'
        : o.kind === 'RoleBinding' ? `/apis/rbac.authorization.k8s.io/v1/namespaces/${o.metadata.namespace ?? ''}/rolebindings`
          : `/apis/rbac.authorization.k8s.io/v1/${o.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings'}`;
      const r = await kubeRequest(target, 'POST', path, o);
      if (r.status === 409 && allowExisting) continue;
      if (o.kind !== 'RoleBinding') createdClusterScoped.push(`${path}/${o.metadata.name}`);
      if (r.status !== 201) throw new Error(`POST ${path} ${o.metadata.name}: ${r.status} ${r.body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ms: Math.round(performance.now() - started), calls: objects.length };
}

async function sarLatency(target: KubeTarget, state: ClusterAccessState, rounds: number): Promise<ReturnType<typeof latencyStats>> {
  const durations: number[] = [];
  const started = performance.now();
  for (let i = 0; i < rounds; i += 1) {
    const b = state.projectBindings[(i * 7919) % state.projectBindings.length];
    const ns = state.projects.find((p) => p.id === b?.projectId)?.namespaces[0] ?? 'default';
    const t = performance.now();
    const r = await kubeRequest(target, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: b?.subject.kind === 'user' ? b.subject.userId : 'nobody', resourceAttributes: { verb: 'create', resource: 'configmaps', namespace: ns } },
    });
    durations.push(performance.now() - t);
    if (!(JSON.parse(r.body) as { status: { allowed?: boolean } }).status.allowed) throw new Error('SAR denied: the bench objects are wrong');
  }
  return latencyStats(durations, performance.now() - started);
}

async function live(ctx: BenchContext): Promise<Record<string, unknown>> {
  const cp = await sharedControlPlane();
  const target: KubeTarget = { url: cp.url, caPem: cp.caPem, token: cp.adminToken };
  const results: Record<string, unknown> = {};
  for (const design of ['grouped', 'perBinding'] as const) {
    const tag = `${design === 'grouped' ? 'g' : 'l'}${randomBytes(2).toString('hex')}`;
    const state = scenario(200, 5, 2, 5, tag);
    const rendered = renderClusterRbac(state);
    const namespaces = state.projects.flatMap((p) => p.namespaces).map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    await createAll(target, namespaces);
    await createAll(target, rendered.clusterRoles.filter((r) => r.metadata.name.startsWith(`drover-p-${tag}`)));
    await createAll(target, rendered.clusterRoles.filter((r) => r.metadata.name.startsWith('drover-rt-')), true); // shared by both designs
    const objects = design === 'grouped' ? [...rendered.roleBindings, ...rendered.clusterRoleBindings] : Object.values(perBinding(state)).flat();
    ctx.progress(`${design}: creating ${objects.length} bindings`);
    const created = await createAll(target, objects);
    await sarLatency(target, state, 50); // warm up
    results[design] = { bindings: objects.length, createMs: created.ms, apiCalls: created.calls, sar: await sarLatency(target, state, 300) };
    results[`${design}Cleanup`] = namespaces.map((n) => n.metadata.name);
  }
  for (const key of ['groupedCleanup', 'perBindingCleanup']) {
    for (const ns of results[key] as string[]) await kubeRequest(target, 'DELETE', `/api/v1/namespaces/${ns}`);
    delete results[key];
  }
  for (const path of createdClusterScoped.filter((p) => !p.startsWith('/api/v1/namespaces'))) await kubeRequest(target, 'DELETE', path);
  return results;
}

export default async function bench(ctx: BenchContext): Promise<BenchResult> {
  ctx.progress('rendering 1,000 users x 10 projects x 3 namespaces');
  const everyProject = pure(1000, 10);
  const oneProject = pure(1000, 1);
  const real = await live(ctx) as { grouped: { bindings: number; createMs: number; sar: { p50Ms: number; p99Ms: number } }; perBinding: { bindings: number; createMs: number; sar: { p50Ms: number; p99Ms: number } } };
  const summary = [
    '| 1,000 users x 10 projects x 3 ns | RoleBindings | ClusterRoleBindings | binding bytes | render |',
    '| --- | --- | --- | --- | --- |',
    `| every user in every project, grouped | ${everyProject.groupedRoleBindings} | ${everyProject.groupedClusterRoleBindings} | ${everyProject.groupedBindingBytes} | ${everyProject.renderMs} ms |`,
    `| every user in every project, per binding | ${everyProject.perBindingRoleBindings} | ${everyProject.perBindingClusterRoleBindings} | ${everyProject.perBindingBytes} | |`,
    `| each user in one project, grouped | ${oneProject.groupedRoleBindings} | ${oneProject.groupedClusterRoleBindings} | ${oneProject.groupedBindingBytes} | ${oneProject.renderMs} ms |`,
    `| each user in one project, per binding | ${oneProject.perBindingRoleBindings} | ${oneProject.perBindingClusterRoleBindings} | ${oneProject.perBindingBytes} | |`,
    '',
    `Largest grouped object: ${everyProject.largestGroupedObjectBytes} bytes (etcd limit 1.5 MiB).`,
    '',
    `Real kube-apiserver, 200 users x 5 projects x 2 namespaces, every user in every project: grouped ${real.grouped.bindings} bindings created in ${real.grouped.createMs} ms; `
      + `per binding ${real.perBinding.bindings} in ${real.perBinding.createMs} ms (${(real.perBinding.createMs / Math.max(1, real.grouped.createMs)).toFixed(1)}x). `
      + `SubjectAccessReview p50/p99: grouped ${real.grouped.sar.p50Ms.toFixed(2)}/${real.grouped.sar.p99Ms.toFixed(2)} ms, per binding ${real.perBinding.sar.p50Ms.toFixed(2)}/${real.perBinding.sar.p99Ms.toFixed(2)} ms.`,
  ].join('\n');
  return { summary, figures: { everyProject, oneProject, real } };
}
