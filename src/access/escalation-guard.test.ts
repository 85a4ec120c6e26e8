import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DroverError } from '../errors/index.ts';
import { ALL_RULES, assertCanGrant, canManageMembers, checkGrant, rulesHeld, type BindingsView } from './escalation-guard.ts';
import { RoleTemplateCatalog } from './role-template-catalog.ts';
import type { RoleTemplate } from './types.ts';

const wide: RoleTemplate = {
  name: 'wide-project', displayName: 'wide', description: '', context: 'project', builtin: false, locked: false, inherits: [],
  rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
};
const catalog = RoleTemplateCatalog.withBuiltins([wide]);
const view: BindingsView = {
  catalog,
  clusterBindings: [
    { id: 'c1', clusterId: 'c-1', roleTemplate: 'cluster-owner', subject: { kind: 'user', userId: 'u-owner' } },
    { id: 'c2', clusterId: 'c-1', roleTemplate: 'cluster-member', subject: { kind: 'user', userId: 'u-member' } },
    { id: 'c3', clusterId: 'c-1', roleTemplate: 'cluster-owner', subject: { kind: 'group', principalId: 'github_team://admins' } },
    { id: 'c4', clusterId: 'c-2', roleTemplate: 'cluster-owner', subject: { kind: 'user', userId: 'u-member' } },
  ],
  projectBindings: [
    { id: 'p1', clusterId: 'c-1', projectId: 'p-a', roleTemplate: 'project-owner', subject: { kind: 'user', userId: 'u-powner' } },
    { id: 'p2', clusterId: 'c-1', projectId: 'p-a', roleTemplate: 'project-member', subject: { kind: 'user', userId: 'u-pmember' } },
  ],
};
const held = (userId: string, projectId?: string, groups: string[] = []) =>
  rulesHeld({ userId, groupPrincipalIds: groups }, projectId === undefined ? { clusterId: 'c-1' } : { clusterId: 'c-1', projectId }, view);

const grants: [name: string, rules: () => ReturnType<typeof held>, template: string, context: 'cluster' | 'project', allowed: boolean][] = [
  ['a cluster owner can grant cluster-owner', () => held('u-owner'), 'cluster-owner', 'cluster', true],
  ['a cluster owner can grant project-owner on any project', () => held('u-owner', 'p-a'), 'project-owner', 'project', true],
  ['a member of a group bound to cluster-owner can grant cluster-owner', () => held('u-x', undefined, ['github_team://admins']), 'cluster-owner', 'cluster', true],
  ['a cluster member cannot grant cluster-owner', () => held('u-member'), 'cluster-owner', 'cluster', false],
  ['a cluster member cannot grant manage-nodes', () => held('u-member'), 'manage-nodes', 'cluster', false],
  ['a cluster member can grant view-nodes, which it holds', () => held('u-member'), 'view-nodes', 'cluster', true],
  ['owning cluster-owner on another cluster does not help on this one', () => held('u-member'), 'cluster-owner', 'cluster', false],
  ['a project owner can grant project-member on the project', () => held('u-powner', 'p-a'), 'project-member', 'project', true],
  ['a project owner cannot grant project-owner on another project', () => held('u-powner', 'p-b'), 'project-owner', 'project', false],
  ['a project owner cannot grant cluster-owner', () => held('u-powner', 'p-a'), 'cluster-owner', 'cluster', false],
  ['a project member cannot grant project-owner', () => held('u-pmember', 'p-a'), 'project-owner', 'project', false],
  ['a project owner cannot grant a custom template with wildcard rules', () => held('u-powner', 'p-a'), 'wide-project', 'project', false],
  ['nobody without bindings can grant read-only', () => held('u-nobody', 'p-a'), 'read-only', 'project', false],
  ['a global admin can grant anything', () => [...ALL_RULES], 'cluster-owner', 'cluster', true],
];

describe('escalation guard', () => {
  for (const [name, rules, template, context, allowed] of grants) {
    it(name, () => {
      assert.equal(checkGrant(catalog, rules(), template, context).covered, allowed);
      if (allowed) assertCanGrant(catalog, rules(), template, context);
      else assert.throws(() => assertCanGrant(catalog, rules(), template, context), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_PRIVILEGE_ESCALATION' && e.status === 403);
    });
  }

  it('names what is missing in the refusal', () => {
    assert.throws(() => assertCanGrant(catalog, held('u-member'), 'cluster-owner', 'cluster'), /cannot grant role template "cluster-owner".*\* \*\/\*/);
  });

  it('lists at most five missing rules, each readably, and counts the rest', () => {
    const four: RoleTemplate = {
      name: 'four', displayName: 'four', description: '', context: 'cluster', builtin: false, locked: false, inherits: [],
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['web'] },
        { nonResourceURLs: ['/metrics'], verbs: ['get'] },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] },
      ],
    };
    const message = (t: RoleTemplate): string => {
      try {
        assertCanGrant(catalog.with(t), [], t.name, 'cluster');
      } catch (e) {
        return (e as Error).message;
      }
      return 'granted';
    };
    assert.equal(message(four), 'cannot grant role template "four": it holds rights you do not hold (get core/pods; get apps/deployments [web]; create batch/jobs; get /metrics)');
    const seven = { ...four, rules: [...four.rules, ...['secrets', 'configmaps', 'services'].map((r) => ({ apiGroups: [''], resources: [r], verbs: ['get'] }))] };
    assert.match(message(seven), /^cannot grant role template "four": it holds rights you do not hold \((?:[^;]+; ){4}[^;]+ and 2 more\)$/);
    const five = { ...four, rules: [...four.rules, { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] };
    assert.match(message(five), /^cannot grant role template "four": it holds rights you do not hold \((?:[^;]+; ){4}[^;]+\)$/);
    assert.doesNotMatch(message(five), /more/);
  });

  it('counts project bindings only on the cluster and project of the grant', () => {
    const elsewhere: BindingsView = {
      ...view, clusterBindings: [],
      projectBindings: [{ id: 'x', clusterId: 'c-2', projectId: 'p-a', roleTemplate: 'project-owner', subject: { kind: 'user', userId: 'u-x' } }],
    };
    assert.deepEqual(rulesHeld({ userId: 'u-x', groupPrincipalIds: [] }, { clusterId: 'c-1', projectId: 'p-a' }, elsewhere), []);
    assert.notDeepEqual(rulesHeld({ userId: 'u-x', groupPrincipalIds: [] }, { clusterId: 'c-2', projectId: 'p-a' }, elsewhere), []);
  });

  it('does not credit a user with a group binding they are not in, nor a group with a user binding of the same name', () => {
    assert.deepEqual(held('u-y', undefined, ['github_team://others']), []);
    assert.deepEqual(held('github_team://admins'), []);
    assert.deepEqual(held('u-x', undefined, ['u-owner']), []);
  });

  it('refuses a locked template even to a global admin', () => {
    const locked = catalog.with({ ...wide, name: 'frozen', locked: true });
    assert.throws(() => assertCanGrant(locked, [...ALL_RULES], 'frozen', 'project'), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_ROLE_TEMPLATE_LOCKED');
  });

  it('lets cluster owners manage cluster members and project owners manage project members, and nobody else', () => {
    assert.equal(canManageMembers(held('u-owner'), 'cluster'), true);
    assert.equal(canManageMembers(held('u-owner', 'p-a'), 'project'), true);
    assert.equal(canManageMembers(held('u-member'), 'cluster'), false);
    assert.equal(canManageMembers(held('u-powner', 'p-a'), 'project'), true);
    assert.equal(canManageMembers(held('u-powner', 'p-a'), 'cluster'), false);
    assert.equal(canManageMembers(held('u-pmember', 'p-a'), 'project'), false);
  });

  it('asks for create and delete on the binding resource of the scope, nothing less', () => {
    const on = (resource: string, verbs = ['create', 'delete']) => [{ apiGroups: ['management.drover.io'], resources: [resource], verbs }];
    assert.equal(canManageMembers(on('clusterroletemplatebindings'), 'cluster'), true);
    assert.equal(canManageMembers(on('projectroletemplatebindings'), 'project'), true);
    assert.equal(canManageMembers(on('projectroletemplatebindings'), 'cluster'), false);
    assert.equal(canManageMembers(on('clusterroletemplatebindings'), 'project'), false);
    assert.equal(canManageMembers(on('clusterroletemplatebindings', ['create']), 'cluster'), false);
  });

  it('counts a binding to a template that no longer exists as granting nothing', () => {
    const ghost: BindingsView = { ...view, clusterBindings: [{ id: 'g', clusterId: 'c-1', roleTemplate: 'deleted', subject: { kind: 'user', userId: 'u-g' } }] };
    assert.deepEqual(rulesHeld({ userId: 'u-g', groupPrincipalIds: [] }, { clusterId: 'c-1' }, ghost), []);
  });
});
