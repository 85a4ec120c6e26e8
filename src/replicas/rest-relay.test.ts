import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { consoleReplicaOf, liveRestRoute, restClusterOf } from './rest-relay.ts';

describe('which REST calls need the cluster live', () => {
  it('names the cluster and what the route needs', () => {
    const cases: Array<[string, string, ReturnType<typeof liveRestRoute>]> = [
      ['GET', '/v1/clusters/c-1/namespaces', { cluster: 'c-1', need: 'session' }],
      ['POST', '/v1/clusters/prod/namespaces', { cluster: 'prod', need: 'session' }],
      ['POST', '/v1/clusters/c-1/projects/p-1/namespaces', { cluster: 'c-1', need: 'session' }],
      ['POST', '/v1/clusters/c-1/snapshots', { cluster: 'c-1', need: 'session' }],
      ['DELETE', '/v1/clusters/c-1', { cluster: 'c-1', need: 'session' }],
      ['GET', '/v1/clusters/c-1/warnings', { cluster: 'c-1', need: 'owner' }],
      ['GET', '/v1/clusters/my%20cluster/warnings', { cluster: 'my cluster', need: 'owner' }],
    ];
    for (const [method, url, want] of cases) assert.deepEqual(liveRestRoute(method, url), want, `${method} ${url}`);
  });

  it('everything else is answered where it lands', () => {
    for (const [method, url] of [
      ['GET', '/v1/clusters/c-1'], ['GET', '/v1/clusters'], ['PATCH', '/v1/clusters/c-1'], ['GET', '/v1/clusters/c-1/members'],
      ['GET', '/v1/clusters/c-1/projects'], ['GET', '/v1/clusters/c-1/snapshots'], ['GET', '/v1/clusters/c-1/kubeconfig'], ['DELETE', '/v1/clusters/c-1/namespaces'],
      ['GET', '/v1/clusters/c-1/namespaces/extra'], ['GET', '/v1/clusters/%E0%A4%A/warnings'], ['GET', undefined], [undefined, '/v1/clusters/c-1/warnings'],
    ] as Array<[string | undefined, string | undefined]>) {
      assert.equal(liveRestRoute(method, url), undefined, `${String(method)} ${String(url)}`);
    }
  });
});

describe('when a REST call is relayed', () => {
  const req = (method: string, url: string): IncomingMessage => ({ method, url } as IncomingMessage);
  const decide = (here: { session: boolean; owner: boolean }) => restClusterOf({
    clusterIdOf: (idOrName) => Promise.resolve(idOrName === 'prod' || idOrName === 'c-1' ? 'c-1' : undefined),
    servesLocally: () => here.session, owns: () => here.owner,
  });

  it('a replica without a session relays, by cluster id, even when the path names the cluster', async () => {
    assert.equal(await decide({ session: false, owner: false })(req('POST', '/v1/clusters/prod/namespaces')), 'c-1');
  });

  it('a replica with a session answers session routes itself; only the owner answers owner routes', async () => {
    const holder = decide({ session: true, owner: false });
    assert.equal(await holder(req('GET', '/v1/clusters/c-1/namespaces')), undefined);
    assert.equal(await holder(req('GET', '/v1/clusters/c-1/warnings')), 'c-1');
    assert.equal(await decide({ session: true, owner: true })(req('GET', '/v1/clusters/c-1/warnings')), undefined);
  });

  it('an unknown cluster and every other route are answered here (404 or the route\'s own answer)', async () => {
    const none = decide({ session: false, owner: false });
    assert.equal(await none(req('GET', '/v1/clusters/nope/namespaces')), undefined);
    assert.equal(await none(req('GET', '/v1/clusters/c-1/members')), undefined);
  });
});

describe('which replica a browser console call must reach', () => {
  it('the replica its session id names, for running a command and closing it', () => {
    assert.equal(consoleReplicaOf('POST', '/v1/clusters/c-1/shell/r-abcdefgh27.6f326b35-f213-461b-9e83-174d9ad243a8/run'), 'r-abcdefgh27');
    assert.equal(consoleReplicaOf('DELETE', '/v1/clusters/prod/shell/r-abcdefgh27.6f326b35-f213-461b-9e83-174d9ad243a8'), 'r-abcdefgh27');
  });

  it('nothing else: opening one, other methods, ids naming no replica', () => {
    for (const [method, url] of [
      ['POST', '/v1/clusters/c-1/shell'], ['GET', '/v1/clusters/c-1/shell/r-abc.x/run'], ['DELETE', '/v1/clusters/c-1/shell/r-abc.x/run'],
      ['POST', '/v1/clusters/c-1/shell/r-abc.x'], ['POST', '/v1/clusters/c-1/shell/6f326b35-f213-461b-9e83-174d9ad243a8/run'],
      ['POST', '/v1/clusters/c-1/shell/r-ABC.x/run'], ['POST', '/v1/clusters/c-1/shell/r-abc.x/run/more'], ['POST', undefined],
    ] as Array<[string, string | undefined]>) {
      assert.equal(consoleReplicaOf(method, url), undefined, `${method} ${String(url)}`);
    }
  });
});
