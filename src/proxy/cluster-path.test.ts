import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseClusterPath, parseRootKubePath } from './cluster-path.ts';
import { DroverError } from '../errors/index.ts';

describe('parseClusterPath', () => {
  const ok: Array<[string, string, string]> = [
    ['/k8s/clusters/c-abc12/api/v1/pods', 'c-abc12', '/api/v1/pods'],
    ['/k8s/clusters/c-abc12', 'c-abc12', '/'],
    ['/k8s/clusters/c-abc12/', 'c-abc12', '/'],
    ['/k8s/clusters/c-abc12?timeout=32s', 'c-abc12', '/?timeout=32s'],
    ['/k8s/clusters/c-abc12/api/v1/namespaces/a/pods?watch=1&labelSelector=a%3Db', 'c-abc12', '/api/v1/namespaces/a/pods?watch=1&labelSelector=a%3Db'],
    ['/k8s/clusters/c-abc12/api/v1/namespaces/a/services/s:80/proxy/x%2Fy', 'c-abc12', '/api/v1/namespaces/a/services/s:80/proxy/x%2Fy'],
    ['/k8s/clusters/c-abc12/openapi/v3/apis/apps/v1?hash=ABC', 'c-abc12', '/openapi/v3/apis/apps/v1?hash=ABC'],
    ['/k8s/clusters/c-abc12/api/v1/pods?fieldSelector=metadata.name%3D..', 'c-abc12', '/api/v1/pods?fieldSelector=metadata.name%3D..'],
  ];
  for (const [target, clusterId, downstreamPath] of ok) {
    it(`maps ${target} to cluster ${clusterId} and ${downstreamPath}`, () => {
      assert.deepEqual(parseClusterPath(target), { clusterId, downstreamPath });
    });
  }

  const refused: Array<[string, number]> = [
    ['/k8s/clusters/', 404],
    ['/k8s/clusters//api', 404],
    ['/k8s/cluster/c-abc12/api', 404],
    ['/api/v1/pods', 404],
    ['/k8s/clusters/C-ABC12/api', 404],
    ['/k8s/clusters/c-abc12%2Fc-other/api', 404],
    ['/k8s/clusters/c-abc12%2f..%2fc-other/api', 404],
    ['/k8s/clusters/c-abc12\\c-other/api', 404],
    ['/k8s/clusters/..%2Fc-other/api', 404],
    ['/k8s/clusters/-abc/api', 404],
    [`/k8s/clusters/${'a'.repeat(64)}/api`, 404],
    ['/k8s/clusters/c-abc12/../c-other/api/v1/pods', 400],
    ['/k8s/clusters/c-abc12/api/./v1', 400],
    ['/k8s/clusters/c-abc12/%2e%2e/c-other/api', 400],
    ['/k8s/clusters/c-abc12/api/%2E/v1', 400],
  ];
  for (const [target, status] of refused) {
    it(`refuses ${target} with ${status}`, () => {
      assert.throws(() => parseClusterPath(target), (e: unknown) => e instanceof DroverError && e.status === status);
    });
  }

  it('does not echo a huge id back in the error', () => {
    assert.throws(() => parseClusterPath(`/k8s/clusters/${'%'.repeat(10_000)}/api`), (e: unknown) =>
      e instanceof DroverError && e.message.length < 200);
  });
});

describe('parseRootKubePath (kubectl --raw drops the server path)', () => {
  for (const target of ['/api', '/apis', '/api/v1/namespaces', '/apis/apps/v1?limit=1', '/version', '/version?timeout=32s', '/openapi/v2', '/openapi/v3/apis/apps/v1?hash=A']) {
    it(`keeps ${target} as the downstream path`, () => {
      assert.equal(parseRootKubePath(target), target);
    });
  }
  for (const target of ['/v1/clusters', '/apidocs', '/versions', '/openapi', '/healthz', '/k8s/clusters/c-a/api', '/']) {
    it(`does not take ${target}`, () => {
      assert.equal(parseRootKubePath(target), undefined);
    });
  }
  it('refuses dot segments with 400', () => {
    assert.throws(() => parseRootKubePath('/api/../v1/users'), (e: unknown) => e instanceof DroverError && e.status === 400);
    assert.throws(() => parseRootKubePath('/apis/%2E%2E/x'), (e: unknown) => e instanceof DroverError && e.status === 400);
  });
});
