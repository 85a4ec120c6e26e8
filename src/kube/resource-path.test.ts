import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resourcePath, resources } from './resource-path.ts';

describe('resourcePath', () => {
  const cases: { name: string; ref: Parameters<typeof resourcePath>[0]; want: string }[] = [
    { name: 'a core cluster-scoped collection', ref: resources.namespaces, want: '/api/v1/namespaces' },
    { name: 'a core namespaced object', ref: { ...resources.configmaps, namespace: 'ns', name: 'c' }, want: '/api/v1/namespaces/ns/configmaps/c' },
    { name: 'a grouped cluster-scoped object', ref: { ...resources.clusterroles, name: 'cattle-impersonation-u-abc' }, want: '/apis/rbac.authorization.k8s.io/v1/clusterroles/cattle-impersonation-u-abc' },
    { name: 'a subresource', ref: { ...resources.serviceaccounts, namespace: 'ns', name: 'sa', subresource: 'token' }, want: '/api/v1/namespaces/ns/serviceaccounts/sa/token' },
    { name: 'an RBAC name with a colon', ref: { ...resources.clusterroles, name: 'system:aggregate-to-view' }, want: '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregate-to-view' },
  ];
  for (const c of cases) it(`builds ${c.name}`, () => assert.equal(resourcePath(c.ref), c.want));

  const hostile = ['..', '.', 'a/b', 'a?b', 'a#b', '', 'a b', '%2e%2e', 'x\n'];
  for (const name of hostile) {
    it(`refuses the name ${JSON.stringify(name)} that could leave its path segment`, () => {
      assert.throws(() => resourcePath({ ...resources.configmaps, namespace: 'ns', name }), /resourcePath name/);
    });
  }

  it('refuses a hostile namespace and a subresource without a name', () => {
    assert.throws(() => resourcePath({ ...resources.configmaps, namespace: '../kube-system' }), /resourcePath namespace/);
    assert.throws(() => resourcePath({ ...resources.configmaps, namespace: 'ns', subresource: 'status' }), /subresource/);
  });
});
