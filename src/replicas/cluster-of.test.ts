import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clusterIdInPath, clusterOfRequest } from './cluster-of.ts';

describe('which cluster a request is for, before the proxy chain runs', () => {
  it('takes the id of a cluster path without parsing the rest', () => {
    const cases: Array<[string, string | undefined]> = [
      ['/k8s/clusters/c-abc/api/v1/pods', 'c-abc'],
      ['/k8s/clusters/c-abc?watch=1', 'c-abc'],
      ['/k8s/clusters/c-abc', 'c-abc'],
      // Not checked here: the chain that serves it (here or on the replica it goes to) refuses it.
      ['/k8s/clusters/c-abc/../c-other/api', 'c-abc'],
      ['/k8s/clusters/', undefined],
      ['/k8s/clusters//api', undefined],
      ['/k8s/cluster/c-abc', undefined],
      ['/v1/clusters/c-abc', undefined],
    ];
    for (const [url, id] of cases) assert.equal(clusterIdInPath(url), id, url);
  });

  it('answers a cluster path at once, and a root path only through the bearer token\'s scope', async () => {
    const tokens: string[] = [];
    const clusterOf = clusterOfRequest({ authenticate: (header: string) => { tokens.push(header); return Promise.resolve({ token: { clusterId: 'c-scoped' } }) as never; } });
    const req = (url: string, authorization?: string) => ({ url, headers: authorization ? { authorization } : {} }) as IncomingMessage;
    assert.equal(clusterOf(req('/k8s/clusters/c-abc/api', 'Bearer t')), 'c-abc');
    assert.equal(clusterOf(req('/api/v1/pods')), undefined);
    assert.equal(clusterOf(req('/v1/whoami', 'Bearer t')), undefined);
    assert.equal(await clusterOf(req('/api/v1/pods', 'Bearer t')), 'c-scoped');
    assert.deepEqual(tokens, ['Bearer t'], 'only the root path read the token');
  });
});
