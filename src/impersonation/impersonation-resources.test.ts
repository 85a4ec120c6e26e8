import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  IMPERSONATION_NAMESPACE, impersonationRules, impersonationTokenSecretName, renderImpersonationResources,
} from './impersonation-resources.ts';
import { isOwnedByDrover } from '../downstream/index.ts';
import type { UserIdentity } from './identity.ts';

const alice: UserIdentity = { id: 'u-abc12', username: 'alice', principalIds: ['local://u-abc12', 'github_user://98'], groups: ['github_team://123'] };

describe('impersonation resources', () => {
  it('are the five objects the reference names, in cattle-impersonation-system', () => {
    const r = renderImpersonationResources(alice);
    assert.equal(r.namespace.metadata.name, 'cattle-impersonation-system');
    assert.equal(r.serviceAccount.metadata.name, 'cattle-impersonation-u-abc12');
    assert.equal(r.serviceAccount.metadata.namespace, IMPERSONATION_NAMESPACE);
    assert.equal(r.clusterRole.metadata.name, 'cattle-impersonation-u-abc12');
    assert.equal(r.clusterRoleBinding.metadata.name, 'cattle-impersonation-u-abc12');
    assert.match(r.tokenSecret.metadata.name, /^cattle-impersonation-u-abc12-token-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(r.tokenSecret.metadata.namespace, IMPERSONATION_NAMESPACE);
    assert.equal(r.tokenSecret.type, 'kubernetes.io/service-account-token');
    assert.equal(r.tokenSecret.metadata.annotations?.['kubernetes.io/service-account.name'], 'cattle-impersonation-u-abc12');
    assert.deepEqual(r.clusterRoleBinding.subjects, [{ kind: 'ServiceAccount', name: 'cattle-impersonation-u-abc12', namespace: IMPERSONATION_NAMESPACE }]);
    assert.deepEqual(r.clusterRoleBinding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cattle-impersonation-u-abc12' });
    for (const o of [r.namespace, r.clusterRole, r.serviceAccount, r.tokenSecret, r.clusterRoleBinding]) assert.ok(isOwnedByDrover(o.metadata.labels, 'impersonation'), o.kind);
  });

  it('name the token Secret the same way every time, so no retry can create a second one', () => {
    assert.equal(impersonationTokenSecretName('u-abc12'), impersonationTokenSecretName('u-abc12'));
    assert.notEqual(impersonationTokenSecretName('u-abc12'), impersonationTokenSecretName('u-abc13'));
  });

  it('allow impersonate only on this user, its groups and its principalid and username extras', () => {
    assert.deepEqual(impersonationRules(alice), [
      { apiGroups: [''], resources: ['users'], resourceNames: ['u-abc12'], verbs: ['impersonate'] },
      { apiGroups: [''], resources: ['groups'], resourceNames: ['github_team://123', 'system:authenticated', 'system:cattle:authenticated'], verbs: ['impersonate'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['userextras/principalid'], resourceNames: ['github_user://98', 'local://u-abc12'], verbs: ['impersonate'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['userextras/username'], resourceNames: ['alice'], verbs: ['impersonate'] },
    ]);
  });

  it('leave out the principalid rule rather than emit empty resourceNames (which would allow every principal)', () => {
    const rules = impersonationRules({ ...alice, principalIds: [] });
    assert.ok(rules.every((r) => (r.resourceNames ?? []).length > 0));
    assert.ok(!rules.some((r) => r.resources?.includes('userextras/principalid')));
  });

  it('never allow impersonating system:masters or other Kubernetes system groups, whatever the identity lists', () => {
    const rules = impersonationRules({ ...alice, groups: ['system:masters', 'system:nodes', 'system:serviceaccounts', 'ops'] });
    const groups = rules.find((r) => r.resources?.includes('groups'))?.resourceNames;
    assert.deepEqual(groups, ['ops', 'system:authenticated', 'system:cattle:authenticated']);
  });

  it('refuse user ids that cannot be object names, and names that cannot travel in a header', () => {
    for (const id of ['', 'U-Upper', 'a/b', '../x', 'x'.repeat(41), 'system:admin']) assert.throws(() => renderImpersonationResources({ ...alice, id }), /user id/);
    for (const username of ['', ' alice', 'alice ', 'ali\nce', 'ålice', 'a\u0000b']) assert.throws(() => renderImpersonationResources({ ...alice, username }), /cannot be impersonated/);
    assert.throws(() => renderImpersonationResources({ ...alice, groups: ['ops\r\nImpersonate-User: admin'] }), /cannot be impersonated/);
  });

  it('set owner references once owners exist: account and binding owned by the role, Secret by the account', () => {
    const bare = renderImpersonationResources(alice);
    assert.equal(bare.serviceAccount.metadata.ownerReferences, undefined);
    const r = renderImpersonationResources(alice, { clusterRoleUid: 'role-uid', serviceAccountUid: 'sa-uid' });
    assert.deepEqual(r.serviceAccount.metadata.ownerReferences, [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'cattle-impersonation-u-abc12', uid: 'role-uid' }]);
    assert.deepEqual(r.clusterRoleBinding.metadata.ownerReferences, r.serviceAccount.metadata.ownerReferences);
    assert.deepEqual(r.tokenSecret.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'ServiceAccount', name: 'cattle-impersonation-u-abc12', uid: 'sa-uid' }]);
    assert.equal(r.tokenSecret.metadata.annotations?.['kubernetes.io/service-account.uid'], 'sa-uid');
    assert.equal(r.serviceAccount.automountServiceAccountToken, false);
  });
});
