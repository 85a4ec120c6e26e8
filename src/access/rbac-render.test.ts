import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isOwnedByDrover } from '../downstream/index.ts';
import { renderClusterRbac, type ClusterAccessState } from './rbac-render.ts';
import { RoleTemplateCatalog } from './role-template-catalog.ts';
import { shardSubjects } from './subject-shards.ts';
import type { ClusterRoleTemplateBinding, Project, ProjectRoleTemplateBinding } from './types.ts';
import type { RbacSubject } from '../downstream/index.ts';

const catalog = RoleTemplateCatalog.withBuiltins();
const user = (userId: string) => ({ kind: 'user' as const, userId });
const crtb = (id: string, roleTemplate: string, userId: string, clusterId = 'c-1'): ClusterRoleTemplateBinding => ({ id, clusterId, roleTemplate, subject: user(userId) });
const prtb = (id: string, projectId: string, roleTemplate: string, userId: string): ProjectRoleTemplateBinding => ({ id, clusterId: 'c-1', projectId, roleTemplate, subject: user(userId) });
const project = (id: string, namespaces: string[]): Project => ({ id, clusterId: 'c-1', name: id, namespaces });

function state(partial: Partial<ClusterAccessState>): ClusterAccessState {
  return { clusterId: 'c-1', catalog, projects: [], clusterBindings: [], projectBindings: [], ...partial };
}

describe('renderClusterRbac', () => {
  it('renders a cluster binding as a ClusterRole with the flattened rules and a ClusterRoleBinding to User <userID>', () => {
    const out = renderClusterRbac(state({ clusterBindings: [crtb('b1', 'cluster-member', 'u-alice')] }));
    assert.deepEqual(out.clusterRoles.map((r) => r.metadata.name), ['drover-rt-cluster-member']);
    assert.deepEqual(out.clusterRoles[0]?.rules, catalog.resolve('cluster-member').rules);
    assert.equal(out.clusterRoleBindings.length, 1);
    assert.deepEqual(out.clusterRoleBindings[0]?.subjects, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'u-alice' }]);
    assert.equal(out.clusterRoleBindings[0]?.roleRef.name, 'drover-rt-cluster-member');
    assert.deepEqual(out.roleBindings, []);
  });

  it('binds a group principal as Group <principalID>', () => {
    const out = renderClusterRbac(state({ clusterBindings: [{ id: 'g', clusterId: 'c-1', roleTemplate: 'view-nodes', subject: { kind: 'group', principalId: 'github_team://678' } }] }));
    assert.deepEqual(out.clusterRoleBindings[0]?.subjects, [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'github_team://678' }]);
  });

  it('groups every subject holding a template into one binding, de-duplicated and sorted', () => {
    const out = renderClusterRbac(state({ clusterBindings: [crtb('1', 'view-nodes', 'u-b'), crtb('2', 'view-nodes', 'u-a'), crtb('3', 'view-nodes', 'u-b')] }));
    assert.equal(out.clusterRoleBindings.length, 1);
    assert.deepEqual(out.clusterRoleBindings[0]?.subjects.map((s) => s.name), ['u-a', 'u-b']);
  });

  it('renders a project binding as one RoleBinding per namespace of the project, and a namespace role naming exactly those namespaces', () => {
    const out = renderClusterRbac(state({ projects: [project('p-1', ['ns-b', 'ns-a']), project('p-2', ['other'])], projectBindings: [prtb('b', 'p-1', 'project-member', 'u-alice')] }));
    assert.deepEqual(out.roleBindings.map((rb) => `${rb.metadata.namespace}/${rb.metadata.name}`).sort(), ['ns-a/drover-rt-project-member-0', 'ns-b/drover-rt-project-member-0']);
    const nsRole = out.clusterRoles.find((r) => r.metadata.name === 'drover-p-1-namespaces-view');
    assert.deepEqual(nsRole?.rules, [{ apiGroups: [''], resources: ['namespaces'], resourceNames: ['ns-a', 'ns-b'], verbs: ['get', 'list', 'watch'] }]);
    assert.ok(!out.clusterRoles.some((r) => r.metadata.name.includes('namespaces-edit')), 'a member cannot change namespaces');
    assert.ok(out.clusterRoleBindings.some((b) => b.roleRef.name === 'drover-p-1-namespaces-view' && b.subjects[0]?.name === 'u-alice'));
  });

  it('lets a project owner change and delete the project\'s namespaces, and only those', () => {
    const out = renderClusterRbac(state({ projects: [project('p-1', ['ns-a'])], projectBindings: [prtb('b', 'p-1', 'project-owner', 'u-o')] }));
    const edit = out.clusterRoles.find((r) => r.metadata.name === 'drover-p-1-namespaces-edit');
    assert.deepEqual(edit?.rules, [{ apiGroups: [''], resources: ['namespaces'], resourceNames: ['ns-a'], verbs: ['delete', 'patch', 'update'] }]);
  });

  it('never renders a namespace role with empty resourceNames (that would allow every namespace) for a project without namespaces', () => {
    const out = renderClusterRbac(state({ projects: [project('p-empty', [])], projectBindings: [prtb('b', 'p-empty', 'project-owner', 'u-o')] }));
    for (const role of out.clusterRoles) for (const rule of role.rules) {
      if (rule.resources?.includes('namespaces') && role.metadata.name.startsWith('drover-p-')) assert.ok((rule.resourceNames ?? []).length > 0);
    }
    assert.ok(!out.clusterRoles.some((r) => r.metadata.name.startsWith('drover-p-empty')));
    assert.ok(!out.clusterRoleBindings.some((b) => b.roleRef.name.startsWith('drover-p-empty')));
    assert.deepEqual(out.roleBindings, []);
  });

  it('skips, and reports, bindings to unknown templates, templates of the other context, unknown or unnameable projects and other clusters', () => {
    const out = renderClusterRbac(state({
      projects: [project('p-1', ['ns']), project('../P', ['ns2'])],
      clusterBindings: [crtb('ghost', 'no-such', 'u-a'), crtb('ctx', 'project-owner', 'u-a'), crtb('elsewhere', 'cluster-owner', 'u-a', 'c-2')],
      projectBindings: [prtb('ctx2', 'p-1', 'cluster-owner', 'u-a'), prtb('nop', 'p-404', 'read-only', 'u-a'), prtb('bad', '../P', 'read-only', 'u-a')],
    }));
    assert.deepEqual(out.skipped.map((s) => s.bindingId).sort(), ['bad', 'ctx', 'ctx2', 'ghost', 'nop']);
    assert.deepEqual(out.clusterRoles, []);
    assert.deepEqual(out.clusterRoleBindings, []);
    assert.deepEqual(out.roleBindings, []);
  });

  it('labels every object as Drover\'s RBAC, so a reconciler lists exactly what it owns', () => {
    const out = renderClusterRbac(state({ projects: [project('p-1', ['ns'])], clusterBindings: [crtb('1', 'cluster-owner', 'u-a')], projectBindings: [prtb('2', 'p-1', 'read-only', 'u-b')] }));
    for (const o of [...out.clusterRoles, ...out.clusterRoleBindings, ...out.roleBindings]) assert.ok(isOwnedByDrover(o.metadata.labels, 'rbac'), o.metadata.name);
  });

  it('is deterministic: the same state in another order renders the same objects', () => {
    const bindings = Array.from({ length: 30 }, (_, i) => prtb(`b${i}`, `p-${i % 3}`, i % 2 ? 'read-only' : 'project-member', `u-${i}`));
    const projects = [0, 1, 2].map((i) => project(`p-${i}`, [`ns-${i}-a`, `ns-${i}-b`]));
    const a = renderClusterRbac(state({ projects, projectBindings: bindings }), { maxSubjectsPerBinding: 10 });
    const b = renderClusterRbac(state({ projects: [...projects].reverse(), projectBindings: [...bindings].reverse() }), { maxSubjectsPerBinding: 10 });
    assert.deepEqual(a, b);
  });

  it('keeps the object count near the minimum: 1,000 users x 10 projects x 3 namespaces renders tens of objects, not tens of thousands', () => {
    const projects = Array.from({ length: 10 }, (_, p) => project(`p-${p}`, [0, 1, 2].map((n) => `ns-${p}-${n}`)));
    const projectBindings = projects.flatMap((p) => Array.from({ length: 1000 }, (_, u) => prtb(`${p.id}-${u}`, p.id, 'project-member', `u-${u}`)));
    const out = renderClusterRbac(state({ projects, projectBindings }));
    // Per namespace one template, 1,000 subjects in shards of <= 500: 2-4 RoleBindings, never 1,000.
    assert.ok(out.roleBindings.length <= 30 * 4, `${out.roleBindings.length} RoleBindings`);
    assert.ok(out.roleBindings.every((rb) => rb.subjects.length <= 500));
    assert.equal(new Set(out.roleBindings.flatMap((rb) => rb.subjects.map((s) => `${rb.metadata.namespace}/${s.name}`))).size, 30_000, 'every user is bound in every namespace exactly once');
    assert.equal(out.clusterRoles.length, 1 + 10);
  });

  it('refuses a shard size outside 10-5000', () => {
    assert.throws(() => renderClusterRbac(state({}), { maxSubjectsPerBinding: 1 }), /maxSubjectsPerBinding/);
  });
});

describe('renderClusterRbac for global admins', () => {
  it('gives every admin a ClusterRoleBinding globaladmin-<userId> to cluster-admin, labelled and annotated like the reference', () => {
    const out = renderClusterRbac(state({ globalAdmins: ['u-root2', 'u-root1'] }));
    assert.deepEqual(out.clusterRoles, [], 'no Drover role: the cluster\'s own cluster-admin');
    assert.deepEqual(out.clusterRoleBindings.map((b) => b.metadata.name), ['globaladmin-u-root1', 'globaladmin-u-root2']);
    const [b] = out.clusterRoleBindings;
    assert.deepEqual(b?.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' });
    assert.deepEqual(b?.subjects, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'u-root1' }]);
    assert.ok(isOwnedByDrover(b?.metadata.labels, 'rbac'));
    assert.equal(b?.metadata.labels?.['drover.io/purpose'], 'global-admin');
    assert.equal(b?.metadata.labels?.['drover.io/user'], 'u-root1');
    assert.deepEqual(b?.metadata.annotations, { 'authz.cluster.cattle.io/globalrole': 'admin' });
  });

  it('renders no globaladmin binding for a user who is not in the admin set, whatever their bindings', () => {
    const out = renderClusterRbac(state({ clusterBindings: [crtb('b1', 'cluster-owner', 'u-owner')], globalAdmins: ['u-root'] }));
    const admins = out.clusterRoleBindings.filter((b) => b.metadata.name.startsWith('globaladmin-'));
    assert.deepEqual(admins.map((b) => b.subjects.map((x) => x.name)), [['u-root']]);
    assert.equal(renderClusterRbac(state({ clusterBindings: [crtb('b1', 'cluster-owner', 'u-owner')] })).clusterRoleBindings
      .some((b) => b.roleRef.name === 'cluster-admin'), false);
  });

  it('renders one binding for an admin listed twice', () => {
    assert.equal(renderClusterRbac(state({ globalAdmins: ['u-root', 'u-root'] })).clusterRoleBindings.length, 1);
  });

  it('skips and reports an admin id that cannot be an object name, instead of binding a crafted name to cluster-admin', () => {
    const out = renderClusterRbac(state({ globalAdmins: ['u-ok', 'U-Bad', 'x/../y', '', 'a'.repeat(41)] }));
    assert.deepEqual(out.clusterRoleBindings.map((b) => b.metadata.name), ['globaladmin-u-ok']);
    assert.equal(out.skipped.length, 4);
  });
});

describe('shardSubjects', () => {
  const subjects = (n: number, prefix = 'u'): RbacSubject[] => Array.from({ length: n }, (_, i) => ({ kind: 'User', name: `${prefix}-${i}` }));

  it('keeps every shard within the limit and loses nobody', () => {
    const shards = shardSubjects(subjects(1234), 100);
    assert.ok([...shards.values()].every((s) => s.length <= 100));
    assert.equal([...shards.values()].reduce((n, s) => n + s.length, 0), 1234);
  });

  it('uses a single shard 0 while the subjects fit', () => {
    assert.deepEqual([...shardSubjects(subjects(50), 100).keys()], [0]);
  });

  it('moves a subject only from shard i to a shard i + k*B when growth doubles the shard count B', () => {
    const where = (m: Map<number, RbacSubject[]>): Map<string, number> => new Map([...m].flatMap(([i, list]) => list.map((s) => [s.name, i] as [string, number])));
    const before = where(shardSubjects(subjects(150), 100));
    const after = where(shardSubjects([...subjects(150), ...subjects(200, 'new')], 100));
    const bucketsBefore = 2;
    assert.ok(Math.max(...before.values()) < bucketsBefore, 'two shards before');
    let stayed = 0;
    for (const [name, i] of before) {
      assert.equal((after.get(name) ?? -1) % bucketsBefore, i, name);
      if (after.get(name) === i) stayed += 1;
    }
    assert.ok(stayed > 0 && stayed < 150, `${stayed} of 150 stayed in their shard`);
  });
});
