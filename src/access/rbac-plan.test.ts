import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planRbac, type ObservedRbacObject } from './rbac-plan.ts';
import { renderClusterRbac, type ClusterAccessState } from './rbac-render.ts';
import { RoleTemplateCatalog } from './role-template-catalog.ts';

const base: ClusterAccessState = {
  clusterId: 'c-1', catalog: RoleTemplateCatalog.withBuiltins(),
  projects: [{ id: 'p-1', clusterId: 'c-1', name: 'one', namespaces: ['ns-a', 'ns-b'] }, { id: 'p-2', clusterId: 'c-1', name: 'two', namespaces: ['ns-c'] }],
  clusterBindings: [{ id: 'c', clusterId: 'c-1', roleTemplate: 'cluster-member', subject: { kind: 'user', userId: 'u-m' } }],
  projectBindings: [{ id: 'p', clusterId: 'c-1', projectId: 'p-1', roleTemplate: 'project-member', subject: { kind: 'user', userId: 'u-a' } }],
};

/** What a server would hand back: the same objects with server fields added and lists reordered. */
function asObserved(state: ClusterAccessState): ObservedRbacObject[] {
  const d = renderClusterRbac(state);
  return [...d.clusterRoles, ...d.clusterRoleBindings, ...d.roleBindings].map((o) => {
    const copy = structuredClone(o) as ObservedRbacObject & { metadata: { uid?: string; resourceVersion?: string } };
    copy.metadata.uid = 'x';
    copy.metadata.resourceVersion = '1';
    copy.rules?.reverse();
    // Servers serialize keys in their own order.
    copy.subjects = copy.subjects?.reverse().map((x) => ({ name: x.name, apiGroup: x.apiGroup ?? '', kind: x.kind }));
    if (copy.kind !== 'ClusterRole') copy.roleRef = { name: copy.roleRef?.name ?? '', kind: 'ClusterRole', apiGroup: 'rbac.authorization.k8s.io' };
    return copy;
  });
}

const empty = { create: [], update: [], delete: [], conflicts: [] };

describe('planRbac', () => {
  it('plans nothing when the cluster already matches (a restart causes no writes)', () => {
    assert.deepEqual(planRbac(renderClusterRbac(base), asObserved(base)), empty);
  });

  it('creates everything on an empty cluster', () => {
    const d = renderClusterRbac(base);
    const plan = planRbac(d, []);
    assert.equal(plan.create.length, d.clusterRoles.length + d.clusterRoleBindings.length + d.roleBindings.length);
  });

  it('restores a Drover RoleBinding deleted by hand, and only that one', () => {
    const observed = asObserved(base).filter((o) => !(o.kind === 'RoleBinding' && o.metadata.namespace === 'ns-a'));
    const plan = planRbac(renderClusterRbac(base), observed);
    assert.deepEqual(plan.create.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['ns-a/drover-rt-project-member-0']);
    assert.deepEqual([plan.update, plan.delete], [[], []]);
  });

  it('updates a Drover ClusterRole whose rules were edited by hand', () => {
    const observed = asObserved(base).map((o) => (o.metadata.name === 'drover-rt-cluster-member' ? { ...o, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] } : o));
    assert.deepEqual(planRbac(renderClusterRbac(base), observed).update.map((o) => o.metadata.name), ['drover-rt-cluster-member']);
  });

  it('updates a binding whose subjects were edited, and replaces one whose roleRef was changed', () => {
    const observed = asObserved(base).map((o) => {
      if (o.kind === 'RoleBinding' && o.metadata.namespace === 'ns-a') return { ...o, subjects: [...(o.subjects ?? []), { kind: 'User' as const, name: 'intruder', apiGroup: 'rbac.authorization.k8s.io' }] };
      if (o.kind === 'RoleBinding' && o.metadata.namespace === 'ns-b') return { ...o, roleRef: { apiGroup: 'rbac.authorization.k8s.io' as const, kind: 'ClusterRole' as const, name: 'cluster-admin' } };
      return o;
    });
    const plan = planRbac(renderClusterRbac(base), observed);
    assert.deepEqual(plan.update.map((o) => o.metadata.namespace), ['ns-a']);
    assert.deepEqual(plan.delete, [{ kind: 'RoleBinding', name: 'drover-rt-project-member-0', namespace: 'ns-b' }]);
    assert.deepEqual(plan.create.map((o) => o.metadata.namespace), ['ns-b']);
  });

  it('moves access when a namespace moves to another project', () => {
    const moved: ClusterAccessState = { ...base, projects: [{ ...base.projects[0]!, namespaces: ['ns-a'] }, { ...base.projects[1]!, namespaces: ['ns-c', 'ns-b'] }] };
    const plan = planRbac(renderClusterRbac(moved), asObserved(base));
    assert.deepEqual(plan.delete, [{ kind: 'RoleBinding', name: 'drover-rt-project-member-0', namespace: 'ns-b' }]);
    assert.deepEqual(plan.update.map((o) => o.metadata.name), ['drover-p-1-namespaces-view'], 'the namespace role now names only ns-a');
  });

  it('removes Drover objects that are no longer wanted when the last binding goes', () => {
    const plan = planRbac(renderClusterRbac({ ...base, projectBindings: [] }), asObserved(base));
    assert.ok(plan.delete.some((r) => r.kind === 'RoleBinding'));
    assert.ok(plan.delete.some((r) => r.name === 'drover-rt-project-member'));
    assert.deepEqual(plan.create, []);
  });

  it('never touches objects Drover did not create, even with a Drover-like name', () => {
    const foreign: ObservedRbacObject[] = [
      { kind: 'ClusterRoleBinding', metadata: { name: 'cluster-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [] },
      { kind: 'RoleBinding', metadata: { name: 'drover-rt-old-0', namespace: 'ns-a', labels: { 'app.kubernetes.io/managed-by': 'someone-else' } }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'x' }, subjects: [] },
    ];
    const plan = planRbac(renderClusterRbac(base), [...asObserved(base), ...foreign]);
    assert.deepEqual(plan, empty);
  });

  it('reports, and leaves alone, a foreign object that holds a desired name', () => {
    const observed = asObserved(base).map((o) => (o.metadata.name === 'drover-rt-cluster-member' ? { ...o, metadata: { name: o.metadata.name } } : o));
    const plan = planRbac(renderClusterRbac(base), observed);
    assert.deepEqual(plan.conflicts, [{ kind: 'ClusterRole', name: 'drover-rt-cluster-member' }]);
    assert.deepEqual([plan.create, plan.update, plan.delete], [[], [], []]);
  });

  it('deletes a globaladmin binding when its user is no longer an admin, and touches nothing else', () => {
    const admin: ClusterAccessState = { ...base, globalAdmins: ['u-root', 'u-other'] };
    const demoted: ClusterAccessState = { ...base, globalAdmins: ['u-other'] };
    const plan = planRbac(renderClusterRbac(demoted), asObserved(admin));
    assert.deepEqual(plan, { ...empty, delete: [{ kind: 'ClusterRoleBinding', name: 'globaladmin-u-root' }] });
  });

  it('creates a globaladmin binding when a user becomes an admin', () => {
    const plan = planRbac(renderClusterRbac({ ...base, globalAdmins: ['u-root'] }), asObserved(base));
    assert.deepEqual(plan.create.map((o) => o.metadata.name), ['globaladmin-u-root']);
    assert.deepEqual([plan.update, plan.delete], [[], []]);
  });

  it('restores the globalrole annotation when someone removed it', () => {
    const state: ClusterAccessState = { ...base, globalAdmins: ['u-root'] };
    const observed = asObserved(state).map((o) => (o.metadata.name === 'globaladmin-u-root' ? { ...o, metadata: { ...o.metadata, annotations: {} } } : o));
    assert.deepEqual(planRbac(renderClusterRbac(state), observed).update.map((o) => o.metadata.name), ['globaladmin-u-root']);
  });

  it('leaves a hand-made globaladmin binding without Drover labels alone (a conflict, never deleted)', () => {
    const state: ClusterAccessState = { ...base, globalAdmins: ['u-root'] };
    const observed = asObserved(state).map((o) => (o.metadata.name === 'globaladmin-u-root' ? { ...o, metadata: { name: o.metadata.name } } : o));
    const plan = planRbac(renderClusterRbac(state), observed);
    assert.deepEqual(plan.conflicts, [{ kind: 'ClusterRoleBinding', name: 'globaladmin-u-root' }]);
    assert.deepEqual(planRbac(renderClusterRbac(base), observed).delete, []);
  });
});
