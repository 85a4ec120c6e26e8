import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeCheck, impersonationChecks, splitServiceAccountUsername } from './impersonation-checks.ts';

const only = (user: string) => impersonationChecks({ user, groups: [], extras: {} });

describe('impersonationChecks', () => {
  it('checks a plain user as impersonate on users, cluster-wide', () => {
    assert.deepEqual(only('someone'), [{ group: '', resource: 'users', subresource: '', namespace: '', name: 'someone' }]);
  });

  it('checks a service-account username as impersonate on serviceaccounts in its namespace, as kube-apiserver does', () => {
    assert.deepEqual(only('system:serviceaccount:kube-system:replicaset-controller'), [
      { group: '', resource: 'serviceaccounts', subresource: '', namespace: 'kube-system', name: 'replicaset-controller' },
    ]);
  });

  it('treats names the apiserver does not split as service accounts as plain users, so no check is weaker than its own', () => {
    for (const user of [
      'system:serviceaccount:a:b:c', 'system:serviceaccount::x', 'system:serviceaccount:ns:', 'system:serviceaccount:NS:x',
      'system:serviceaccount:ns:X', 'system:serviceaccount:-ns:x', `system:serviceaccount:${'n'.repeat(64)}:x`,
      'system:serviceaccount:ns', 'System:serviceaccount:ns:x', 'system:serviceaccounts:ns:x',
    ]) {
      assert.equal(splitServiceAccountUsername(user), undefined, user);
      assert.equal(only(user)[0]?.resource, 'users', user);
    }
    assert.deepEqual(splitServiceAccountUsername(`system:serviceaccount:${'n'.repeat(63)}:a.b-c`), { namespace: 'n'.repeat(63), name: 'a.b-c' });
  });

  it('accepts the longest names the apiserver accepts, and nothing longer', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    assert.equal(name.length, 253);
    assert.deepEqual(splitServiceAccountUsername(`system:serviceaccount:ns:${name}`), { namespace: 'ns', name });
    assert.equal(splitServiceAccountUsername(`system:serviceaccount:ns:${name}d`), undefined);
    for (const bad of ['a.', '.a', 'a..b', 'a_b', 'a-', '-a']) assert.equal(splitServiceAccountUsername(`system:serviceaccount:ns:${bad}`), undefined, bad);
    for (const bad of ['a.b', 'ns-', 'n_s']) assert.equal(splitServiceAccountUsername(`system:serviceaccount:${bad}:x`), undefined, bad);
    assert.deepEqual(splitServiceAccountUsername('system:serviceaccount:0:9'), { namespace: '0', name: '9' });
    assert.deepEqual(splitServiceAccountUsername('system:serviceaccount:ns:a.b.c'), { namespace: 'ns', name: 'a.b.c' });
  });

  it('checks every group, the uid and each extra value, in the apiserver order', () => {
    const checks = impersonationChecks({ user: 'u', uid: '1234', groups: ['g1', 'g2'], extras: { scopes: ['view', 'edit'] } });
    assert.deepEqual(checks.map((c) => [c.group, c.resource, c.subresource, c.name]), [
      ['', 'users', '', 'u'], ['', 'groups', '', 'g1'], ['', 'groups', '', 'g2'], ['authentication.k8s.io', 'uids', '', '1234'],
      ['authentication.k8s.io', 'userextras', 'scopes', 'view'], ['authentication.k8s.io', 'userextras', 'scopes', 'edit'],
    ]);
  });

  it('names what was refused, with the namespace of a service account, and cuts long names', () => {
    assert.equal(describeCheck(only('system:serviceaccount:kube-system:default')[0]!), 'serviceaccounts "default" in namespace "kube-system"');
    const [, extra] = impersonationChecks({ user: 'u', groups: [], extras: { scopes: ['x'.repeat(100)] } });
    assert.equal(describeCheck(extra!), `userextras/scopes "${'x'.repeat(64)}"`);
    assert.equal(describeCheck(only('bob')[0]!), 'users "bob"');
  });
});
