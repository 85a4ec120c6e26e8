/**
 * The access model's rendered RBAC, applied to a real kube-apiserver: for each
 * built-in role, what `kubectl auth can-i --list --as <user>` reports matches the
 * role's written intent; a project member acts in the project's namespaces and
 * nowhere else, and can see exactly those namespaces.
 *
 * The shared control plane serves other test files too, so the cluster-scoped
 * objects (ClusterRoles, ClusterRoleBindings) get this run's suffix before they
 * are applied; the rendering itself is what runs, names aside.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { kubectl, kubectlOk, sharedControlPlane, type ControlPlaneState } from '../testenv/index.ts';
import { covers, planRbac, renderClusterRbac, RoleTemplateCatalog, type DesiredRbac, type ObservedRbacObject, type PolicyRule, type Project, type ProjectRoleTemplateBinding } from '../../src/access/index.ts';
import { ownedSelector, type AccessObject, type ClusterRole, type ClusterRoleBinding, type RoleBinding } from '../../src/downstream/index.ts';

const sfx = randomBytes(4).toString('hex');
const id = (name: string): string => `${name}-${sfx}`;

/** Gives cluster-scoped objects this run's suffix so parallel files never share them. */
function isolate(objects: AccessObject[]): AccessObject[] {
  return objects.map((o) => {
    const copy = structuredClone(o);
    if (copy.kind === 'ClusterRole' || copy.kind === 'ClusterRoleBinding') copy.metadata.name = `${copy.metadata.name}-${sfx}`;
    if (copy.kind === 'ClusterRoleBinding' || copy.kind === 'RoleBinding') copy.roleRef.name = `${copy.roleRef.name}-${sfx}`;
    return copy;
  });
}

/** Parses `kubectl auth can-i --list` into rules, so intent can be checked with Kubernetes' own Covers semantics. */
export function parseCanIList(output: string): PolicyRule[] {
  const [header = '', ...rows] = output.split('\n').filter((l) => l.trim() !== '');
  const urlsAt = header.indexOf('Non-Resource URLs');
  const namesAt = header.indexOf('Resource Names');
  const verbsAt = header.indexOf('Verbs');
  const list = (text: string): string[] => text.trim().replace(/^\[|\]$/g, '').split(' ').filter((v) => v !== '');
  return rows.map((row) => {
    const resourceText = row.slice(0, urlsAt).trim();
    const urls = list(row.slice(urlsAt, namesAt));
    const names = list(row.slice(namesAt, verbsAt));
    const verbs = list(row.slice(verbsAt));
    if (resourceText === '') return { nonResourceURLs: urls, verbs };
    const [main = '', sub] = resourceText.split(/\/(.*)/s);
    const dot = main.indexOf('.');
    const resource = (dot < 0 ? main : main.slice(0, dot)) + (sub ? `/${sub}` : '');
    const rule: PolicyRule = { apiGroups: [dot < 0 ? '' : main.slice(dot + 1)], resources: [resource], verbs };
    if (names.length > 0) rule.resourceNames = names;
    return rule;
  });
}

type Check = [verb: string, resource: string, group: string, allowed: boolean];
const can = (rules: PolicyRule[], [verb, resource, group, , name]: [...Check, string?]): boolean =>
  covers(rules, [{ apiGroups: [group], resources: [resource], verbs: [verb], ...(name ? { resourceNames: [name] } : {}) }]).covered;

// What each role must and must not allow inside a namespace of its project.
const projectIntent: Record<string, Check[]> = {
  'read-only': [
    ['get', 'pods', '', true], ['list', 'deployments', 'apps', true], ['get', 'pods/log', '', true], ['watch', 'configmaps', '', true],
    ['get', 'secrets', '', false], ['list', 'secrets', '', false], ['create', 'pods', '', false], ['create', 'pods/exec', '', false],
    ['create', 'rolebindings', 'rbac.authorization.k8s.io', false], ['create', 'clusterrolebindings', 'rbac.authorization.k8s.io', false],
  ],
  'project-member': [
    ['get', 'pods', '', true], ['create', 'deployments', 'apps', true], ['create', 'pods/exec', '', true], ['get', 'secrets', '', true],
    ['delete', 'configmaps', '', true], ['create', 'rolebindings', 'rbac.authorization.k8s.io', false],
    ['create', 'clusterrolebindings', 'rbac.authorization.k8s.io', false], ['escalate', 'roles', 'rbac.authorization.k8s.io', false],
  ],
  'project-owner': [
    ['create', 'deployments', 'apps', true], ['get', 'secrets', '', true], ['create', 'rolebindings', 'rbac.authorization.k8s.io', true],
    ['bind', 'clusterroles', 'rbac.authorization.k8s.io', false], ['escalate', 'roles', 'rbac.authorization.k8s.io', false],
    ['create', 'clusterrolebindings', 'rbac.authorization.k8s.io', false], ['impersonate', 'users', '', false],
  ],
  'view-secrets': [['get', 'secrets', '', true], ['get', 'pods', '', false], ['create', 'secrets', '', false]],
  'view-workloads': [['list', 'pods', '', true], ['get', 'pods/log', '', true], ['list', 'jobs', 'batch', true], ['create', 'pods', '', false], ['get', 'secrets', '', false]],
  'manage-workloads': [['create', 'pods', '', true], ['create', 'pods/exec', '', true], ['get', 'secrets', '', false], ['get', 'services', '', false]],
  'view-services': [['get', 'services', '', true], ['list', 'ingresses', 'networking.k8s.io', true], ['create', 'services', '', false], ['get', 'pods', '', false]],
  'manage-services': [['create', 'services', '', true], ['get', 'services/proxy', '', true], ['create', 'pods', '', false]],
  'view-config': [['get', 'configmaps', '', true], ['list', 'serviceaccounts', '', true], ['get', 'secrets', '', false], ['update', 'configmaps', '', false]],
  'manage-config': [['update', 'configmaps', '', true], ['create', 'serviceaccounts/token', '', true], ['get', 'secrets', '', false]],
  'manage-secrets': [['get', 'secrets', '', true], ['delete', 'secrets', '', true], ['get', 'pods', '', false]],
  'view-rbac': [['list', 'rolebindings', 'rbac.authorization.k8s.io', true], ['create', 'rolebindings', 'rbac.authorization.k8s.io', false]],
  'manage-rbac': [['create', 'roles', 'rbac.authorization.k8s.io', true], ['bind', 'clusterroles', 'rbac.authorization.k8s.io', false], ['escalate', 'roles', 'rbac.authorization.k8s.io', false]],
};

// Cluster roles, checked cluster-wide (no namespace).
const clusterIntent: Record<string, Check[]> = {
  'cluster-owner': [
    ['create', 'clusterrolebindings', 'rbac.authorization.k8s.io', true], ['escalate', 'clusterroles', 'rbac.authorization.k8s.io', true],
    ['get', 'secrets', '', true], ['delete', 'nodes', '', true],
  ],
  'cluster-member': [
    ['list', 'nodes', '', true], ['list', 'namespaces', '', true], ['list', 'storageclasses', 'storage.k8s.io', true],
    ['get', 'customresourcedefinitions', 'apiextensions.k8s.io', true], ['list', 'pods', '', false], ['get', 'secrets', '', false],
    ['create', 'namespaces', '', false], ['create', 'clusterrolebindings', 'rbac.authorization.k8s.io', false],
  ],
  'manage-nodes': [['patch', 'nodes', '', true], ['create', 'pods/eviction', '', true], ['delete', 'namespaces', '', false], ['get', 'secrets', '', false]],
  'view-nodes': [['list', 'nodes', '', true], ['patch', 'nodes', '', false], ['list', 'pods', '', false]],
  'view-namespaces': [['list', 'namespaces', '', true], ['delete', 'namespaces', '', false], ['list', 'nodes', '', false]],
  'manage-namespaces': [['create', 'namespaces', '', true], ['delete', 'namespaces', '', true], ['get', 'secrets', '', false]],
  'view-cluster-rbac': [['list', 'clusterroles', 'rbac.authorization.k8s.io', true], ['create', 'clusterroles', 'rbac.authorization.k8s.io', false]],
  'manage-cluster-rbac': [
    ['create', 'clusterrolebindings', 'rbac.authorization.k8s.io', true], ['bind', 'clusterroles', 'rbac.authorization.k8s.io', false],
    ['escalate', 'clusterroles', 'rbac.authorization.k8s.io', false], ['get', 'secrets', '', false],
  ],
};

it('the intent tables name every built-in role template', () => {
  const named = new Set([...Object.keys(projectIntent), ...Object.keys(clusterIntent)]);
  for (const t of RoleTemplateCatalog.withBuiltins().list()) assert.ok(named.has(t.name), t.name);
});

describe('rendered RBAC on a real kube-apiserver', () => {
  let cp: ControlPlaneState;
  let kc: { kubeconfig: string };
  const clusterId = 'c-e2e';
  const projectA: Project = { id: id('p-a'), clusterId, name: 'a', namespaces: [id('a-one'), id('a-two')] };
  const projectB: Project = { id: id('p-b'), clusterId, name: 'b', namespaces: [id('b-one')] };
  const userFor = (template: string): string => id(`u-${template}`).slice(0, 40);
  const team = `github_team://${sfx}`;
  const cleanup: string[][] = [];
  let applied: DesiredRbac;
  const canIList = async (user: string, namespace?: string, groups: string[] = []): Promise<PolicyRule[]> =>
    parseCanIList(await kubectlOk(['auth', 'can-i', '--list', '--as', user, ...groups.flatMap((g) => ['--as-group', g]), ...(namespace ? ['-n', namespace] : [])], kc));

  before(async () => {
    cp = await sharedControlPlane();
    kc = { kubeconfig: cp.kubeconfigPath };
    const namespaces = [...projectA.namespaces, ...projectB.namespaces];
    for (const ns of namespaces) await kubectlOk(['create', 'namespace', ns], kc);
    cleanup.push(['delete', 'namespace', '--wait=false', ...namespaces]);
    const projectBindings: ProjectRoleTemplateBinding[] = Object.keys(projectIntent).map((t, i) => ({
      id: `prtb-${i}`, clusterId, projectId: projectA.id, roleTemplate: t, subject: { kind: 'user', userId: userFor(t) },
    }));
    projectBindings.push({ id: 'prtb-group', clusterId, projectId: projectB.id, roleTemplate: 'read-only', subject: { kind: 'group', principalId: team } });
    const desired = renderClusterRbac({
      clusterId, catalog: RoleTemplateCatalog.withBuiltins(), projects: [projectA, projectB], projectBindings,
      clusterBindings: Object.keys(clusterIntent).map((t, i) => ({ id: `crtb-${i}`, clusterId, roleTemplate: t, subject: { kind: 'user', userId: userFor(t) } })),
    });
    assert.deepEqual(desired.skipped, []);
    const items = isolate([...desired.clusterRoles, ...desired.clusterRoleBindings, ...desired.roleBindings]);
    applied = {
      clusterRoles: items.filter((o): o is ClusterRole => o.kind === 'ClusterRole'),
      clusterRoleBindings: items.filter((o): o is ClusterRoleBinding => o.kind === 'ClusterRoleBinding'),
      roleBindings: items.filter((o): o is RoleBinding => o.kind === 'RoleBinding'),
      skipped: [],
    };
    await kubectlOk(['apply', '-f', '-'], { ...kc, input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
    const clusterScoped = items.filter((o) => o.kind !== 'RoleBinding').map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`);
    cleanup.push(['delete', '--ignore-not-found', ...clusterScoped]);
  });

  after(async () => {
    for (const args of cleanup) await kubectl(args, kc);
  });

  for (const [template, checks] of Object.entries(projectIntent)) {
    it(`${template} on a project: can-i --list in a project namespace matches the intent, and grants nothing in another project`, async () => {
      const inProject = await canIList(userFor(template), projectA.namespaces[1]);
      for (const check of checks) assert.equal(can(inProject, check), check[3], `${template}: ${check.join(' ')}`);
      const elsewhere = await canIList(userFor(template), projectB.namespaces[0]);
      for (const check of checks) assert.equal(can(elsewhere, check), false, `${template} outside its project: ${check.join(' ')}`);
    });
  }

  for (const [template, checks] of Object.entries(clusterIntent)) {
    it(`${template} on the cluster: can-i --list matches the intent`, async () => {
      const rules = await canIList(userFor(template));
      for (const check of checks) assert.equal(can(rules, check), check[3], `${template}: ${check.join(' ')}`);
    });
  }

  it('a project member sees exactly their project\'s namespaces, and no other', async () => {
    const rules = await canIList(userFor('project-member'));
    // kubectl prints one row per resource name.
    const names = rules.filter((r) => r.resources?.[0] === 'namespaces' && r.verbs.includes('list')).map((r) => r.resourceNames ?? ['<all>']);
    assert.deepEqual(names.flat().sort(), [...projectA.namespaces].sort());
    const user = userFor('project-member');
    for (const ns of projectA.namespaces) await kubectlOk(['get', 'namespace', ns, '--as', user], kc);
    const other = await kubectl(['get', 'namespace', projectB.namespaces[0] ?? '', '--as', user], kc);
    assert.match(other.stderr, /forbidden/);
    const all = await kubectl(['get', 'namespaces', '--as', user], kc);
    assert.match(all.stderr, /forbidden/, 'listing every namespace is not allowed');
    const mine = await kubectlOk(['get', 'namespaces', '--field-selector', `metadata.name=${projectA.namespaces[0] ?? ''}`, '--as', user, '-o', 'name'], kc);
    assert.equal(mine.trim(), `namespace/${projectA.namespaces[0] ?? ''}`);
  });

  it('a project member acts in the project\'s namespaces and is refused elsewhere (real writes, not just reviews)', async () => {
    const user = userFor('project-member');
    for (const ns of projectA.namespaces) await kubectlOk(['create', 'configmap', 'made-by-member', '-n', ns, '--from-literal=a=b', '--as', user], kc);
    const refused = await kubectl(['create', 'configmap', 'made-by-member', '-n', projectB.namespaces[0] ?? '', '--from-literal=a=b', '--as', user], kc);
    assert.match(refused.stderr, /forbidden/);
    const secrets = await kubectl(['get', 'secrets', '-n', projectA.namespaces[0] ?? '', '--as', userFor('read-only')], kc);
    assert.match(secrets.stderr, /forbidden/, 'read-only cannot read secrets');
    const crb = await kubectl(['create', 'clusterrolebinding', id('nope'), '--clusterrole=cluster-admin', `--user=${user}`, '--as', userFor('project-owner')], kc);
    assert.match(crb.stderr, /forbidden/, 'a project owner cannot create cluster role bindings');
  });

  it('a group principal binding reaches every member of the group, and only them', async () => {
    const withGroup = await canIList(id('u-someone'), projectB.namespaces[0], [team]);
    assert.equal(can(withGroup, ['get', 'pods', '', true]), true);
    const without = await canIList(id('u-someone'), projectB.namespaces[0]);
    assert.equal(can(without, ['get', 'pods', '', true]), false);
  });

  it('read back from the apiserver, the applied objects need no write: a restarted reconciler plans nothing', async () => {
    const list = JSON.parse(await kubectlOk(['get', 'clusterroles,clusterrolebindings,rolebindings', '-A', '-l', ownedSelector('rbac'), '-o', 'json'], kc)) as { items: ObservedRbacObject[] };
    const mine = list.items.filter((o) => o.metadata.name.endsWith(sfx) || (o.metadata.namespace ?? '').endsWith(sfx));
    assert.equal(mine.length, applied.clusterRoles.length + applied.clusterRoleBindings.length + applied.roleBindings.length);
    assert.deepEqual(planRbac(applied, mine), { create: [], update: [], delete: [], conflicts: [] });
    const withoutOne = mine.filter((o) => !(o.kind === 'RoleBinding' && o.metadata.namespace === projectA.namespaces[0]));
    assert.ok(planRbac(applied, withoutOne).create.length > 0, 'a RoleBinding deleted by hand would be created again');
  });
});
