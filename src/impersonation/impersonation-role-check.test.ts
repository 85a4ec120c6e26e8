import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { impersonationRules } from './impersonation-resources.ts';
import { checkImpersonationRole } from './impersonation-role-check.ts';
import type { PolicyRule } from '../kube/index.ts';
import type { UserIdentity } from './identity.ts';

const bob: UserIdentity = { id: 'u-bob', username: 'bob', principalIds: ['local://u-bob'], groups: ['ops'] };
const groupsOf = (rules: PolicyRule[]): string[] | undefined => rules.find((r) => r.resources?.[0] === 'groups')?.resourceNames;

describe('checkImpersonationRole', () => {
  it('needs no write when the role already allows everything the request carries', () => {
    const result = checkImpersonationRole(impersonationRules(bob), bob);
    assert.equal(result.upToDate, true);
    assert.deepEqual(result.rules, impersonationRules(bob));
  });

  it('asks for a write that drops a group the user lost, so the account cannot impersonate it any more', () => {
    const result = checkImpersonationRole(impersonationRules({ ...bob, groups: ['ops', 'dev'] }), bob);
    assert.equal(result.upToDate, false);
    assert.deepEqual(groupsOf(result.rules), ['ops', 'system:authenticated', 'system:cattle:authenticated']);
  });

  it('drops a principal id or username the user no longer has', () => {
    const wider = impersonationRules({ ...bob, username: 'robert', principalIds: ['local://u-bob', 'github_user://1'] });
    const result = checkImpersonationRole(wider, bob);
    assert.equal(result.upToDate, false);
    assert.deepEqual(result.rules, impersonationRules(bob));
  });

  it('asks for a write with only the new names when a request brings a new group', () => {
    const result = checkImpersonationRole(impersonationRules(bob), { ...bob, groups: ['ops', 'dev'] });
    assert.equal(result.upToDate, false);
    assert.deepEqual(groupsOf(result.rules), ['dev', 'ops', 'system:authenticated', 'system:cattle:authenticated']);
  });

  it('treats rule and name order, and repeated names, as the same role (RBAC lists are sets)', () => {
    const shuffled = impersonationRules({ ...bob, groups: ['ops', 'dev'] }).reverse()
      .map((r) => ({ ...r, resourceNames: [...(r.resourceNames ?? [])].reverse().concat(r.resourceNames?.[0] ?? []) }));
    assert.equal(checkImpersonationRole(shuffled, { ...bob, groups: ['dev', 'ops'] }).upToDate, true);
  });

  it('asks for a write when a request brings a new principal id or username', () => {
    assert.equal(checkImpersonationRole(impersonationRules(bob), { ...bob, principalIds: ['local://u-bob', 'github_user://1'] }).upToDate, false);
    assert.equal(checkImpersonationRole(impersonationRules(bob), { ...bob, username: 'robert' }).upToDate, false);
  });

  it('asks for a full role when none exists yet', () => {
    const result = checkImpersonationRole(undefined, bob);
    assert.equal(result.upToDate, false);
    assert.deepEqual(result.rules, impersonationRules(bob));
  });

  const tampered: [name: string, rule: PolicyRule][] = [
    ['another user', { apiGroups: [''], resources: ['users'], resourceNames: ['u-admin'], verbs: ['impersonate'] }],
    ['every user (no names)', { apiGroups: [''], resources: ['users'], verbs: ['impersonate'] }],
    ['a wildcard resource', { apiGroups: [''], resources: ['*'], resourceNames: ['u-bob'], verbs: ['impersonate'] }],
    ['a wildcard verb', { apiGroups: [''], resources: ['groups'], resourceNames: ['ops'], verbs: ['*'] }],
    ['service accounts', { apiGroups: [''], resources: ['serviceaccounts'], resourceNames: ['default'], verbs: ['impersonate'] }],
    ['uids', { apiGroups: ['authentication.k8s.io'], resources: ['uids'], resourceNames: ['1'], verbs: ['impersonate'] }],
    ['another extra', { apiGroups: ['authentication.k8s.io'], resources: ['userextras/scopes'], resourceNames: ['x'], verbs: ['impersonate'] }],
    ['an extra in the core group', { apiGroups: [''], resources: ['userextras/principalid'], resourceNames: ['x'], verbs: ['impersonate'] }],
    ['system:masters', { apiGroups: [''], resources: ['groups'], resourceNames: ['system:masters'], verbs: ['impersonate'] }],
    ['a second resource in one rule', { apiGroups: [''], resources: ['groups', 'users'], resourceNames: ['u-admin'], verbs: ['impersonate'] }],
    ['reading secrets', { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
    ['a nonResourceURL', { nonResourceURLs: ['*'], verbs: ['*'] }],
  ];
  for (const [name, rule] of tampered) {
    it(`repairs a role that was edited to allow ${name}`, () => {
      const result = checkImpersonationRole([...impersonationRules(bob), rule], bob);
      assert.equal(result.upToDate, false);
      assert.deepEqual(result.rules, impersonationRules(bob));
    });
  }
});
