import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { covers } from './covers.ts';
import { RoleTemplateCatalog } from './role-template-catalog.ts';
import type { PolicyRule } from './types.ts';

const catalog = RoleTemplateCatalog.withBuiltins();
const rulesOf = (name: string): PolicyRule[] => catalog.resolve(name).rules;
const can = (template: string, verb: string, resource: string, apiGroup = ''): boolean =>
  covers(rulesOf(template), [{ apiGroups: [apiGroup], resources: [resource], verbs: [verb] }]).covered;

// The intent of each built-in, as a Kubernetes admin would state it.
const intent: [template: string, verb: string, resource: string, apiGroup: string, allowed: boolean][] = [
  ['read-only', 'get', 'pods', '', true],
  ['read-only', 'get', 'pods/log', '', true],
  ['read-only', 'list', 'deployments', 'apps', true],
  ['read-only', 'get', 'secrets', '', false],
  ['read-only', 'list', 'secrets', '', false],
  ['read-only', 'create', 'pods', '', false],
  ['read-only', 'create', 'pods/exec', '', false],
  ['read-only', 'get', 'pods/exec', '', false],
  ['project-member', 'create', 'deployments', 'apps', true],
  ['project-member', 'create', 'pods/exec', '', true],
  ['project-member', 'get', 'secrets', '', true],
  ['project-member', 'create', 'rolebindings', 'rbac.authorization.k8s.io', false],
  ['project-member', 'delete', 'namespaces', '', false],
  ['project-owner', 'create', 'rolebindings', 'rbac.authorization.k8s.io', true],
  ['project-owner', 'bind', 'clusterroles', 'rbac.authorization.k8s.io', false],
  ['project-owner', 'escalate', 'roles', 'rbac.authorization.k8s.io', false],
  ['project-owner', 'impersonate', 'users', '', false],
  ['project-owner', 'impersonate', 'groups', '', false],
  ['view-workloads', 'get', 'pods', '', true],
  ['view-workloads', 'get', 'secrets', '', false],
  ['view-secrets', 'get', 'secrets', '', true],
  ['view-secrets', 'create', 'secrets', '', false],
  ['manage-secrets', 'update', 'secrets', '', true],
  ['view-rbac', 'list', 'rolebindings', 'rbac.authorization.k8s.io', true],
  ['view-rbac', 'create', 'rolebindings', 'rbac.authorization.k8s.io', false],
  ['cluster-member', 'list', 'nodes', '', true],
  ['cluster-member', 'list', 'namespaces', '', true],
  ['cluster-member', 'list', 'storageclasses', 'storage.k8s.io', true],
  ['cluster-member', 'get', 'customresourcedefinitions', 'apiextensions.k8s.io', true],
  ['cluster-member', 'list', 'pods', '', false],
  ['cluster-member', 'get', 'secrets', '', false],
  ['cluster-member', 'create', 'namespaces', '', false],
  ['cluster-member', 'create', 'clusterrolebindings', 'rbac.authorization.k8s.io', false],
  ['view-nodes', 'get', 'nodes', '', true],
  ['view-nodes', 'patch', 'nodes', '', false],
  ['manage-nodes', 'patch', 'nodes', '', true],
  ['manage-nodes', 'create', 'pods/eviction', '', true],
  ['view-namespaces', 'list', 'namespaces', '', true],
  ['view-namespaces', 'delete', 'namespaces', '', false],
  ['manage-namespaces', 'create', 'namespaces', '', true],
  ['manage-cluster-rbac', 'create', 'clusterrolebindings', 'rbac.authorization.k8s.io', true],
  ['manage-cluster-rbac', 'bind', 'clusterroles', 'rbac.authorization.k8s.io', false],
  ['manage-cluster-rbac', 'escalate', 'clusterroles', 'rbac.authorization.k8s.io', false],
  ['cluster-owner', 'escalate', 'clusterroles', 'rbac.authorization.k8s.io', true],
  ['cluster-owner', 'impersonate', 'users', '', true],
];

describe('built-in role templates', () => {
  for (const [template, verb, resource, apiGroup, allowed] of intent) {
    it(`${template} ${allowed ? 'may' : 'may not'} ${verb} ${apiGroup ? `${apiGroup}/` : ''}${resource}`, () => {
      assert.equal(can(template, verb, resource, apiGroup), allowed);
    });
  }

  it('no template except cluster-owner holds bind, escalate, or impersonate on users or groups', () => {
    const dangerous: PolicyRule[] = [
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'clusterroles'], verbs: ['bind'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'clusterroles'], verbs: ['escalate'] },
      { apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['userextras/scopes'], verbs: ['impersonate'] },
    ];
    for (const t of catalog.list().filter((t) => t.name !== 'cluster-owner')) {
      for (const rule of dangerous) {
        const hits = rule.resources?.filter((res) => covers(rulesOf(t.name), [{ ...rule, resources: [res] }]).covered) ?? [];
        assert.deepEqual(hits, [], `${t.name} may ${rule.verbs[0]} ${hits.join(',')}`);
      }
    }
  });

  it('no template whose name says view or read reads secrets', () => {
    for (const t of catalog.list().filter((t) => /view|read/.test(t.name) && t.name !== 'view-secrets')) {
      assert.equal(covers(rulesOf(t.name), [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]).covered, false, t.name);
      assert.equal(covers(rulesOf(t.name), [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }]).covered, false, t.name);
    }
  });

  it('each project role holds the one below it: read-only within project-member within project-owner', () => {
    assert.ok(covers(rulesOf('project-member'), rulesOf('read-only')).covered);
    assert.ok(covers(rulesOf('project-owner'), rulesOf('project-member')).covered);
    assert.ok(!covers(rulesOf('project-member'), rulesOf('project-owner')).covered);
    assert.ok(!covers(rulesOf('read-only'), rulesOf('project-member')).covered);
  });

  it('cluster-owner holds every template, and cluster-member holds none of the manage ones', () => {
    for (const t of catalog.list()) assert.ok(covers(rulesOf('cluster-owner'), rulesOf(t.name)).covered, t.name);
    for (const name of ['manage-nodes', 'manage-namespaces', 'manage-cluster-rbac', 'cluster-owner']) {
      assert.ok(!covers(rulesOf('cluster-member'), rulesOf(name)).covered, name);
    }
  });

  it('uses explicit rules only: no aggregation, and no empty resourceNames lists', () => {
    for (const t of catalog.list()) {
      for (const rule of rulesOf(t.name)) assert.notDeepEqual(rule.resourceNames, [], t.name);
    }
  });
});
