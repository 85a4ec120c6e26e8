import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { LiveRoutes } from '../http/index.ts';
import { consoleReplicaOf, restClusterOf } from './rest-relay.ts';

describe('when a REST call is relayed', () => {
  const req = (method: string, url: string): IncomingMessage => ({ method, url } as IncomingMessage);
  const liveRoutes = new LiveRoutes();
  liveRoutes.add('GET', '/v1/clusters/:id/namespaces', 'session');
  liveRoutes.add('POST', '/v1/clusters/:id/namespaces', 'session');
  liveRoutes.add('GET', '/v1/clusters/:id/warnings', 'owner');
  const decide = (here: { session: boolean; owner: boolean }) => restClusterOf({
    liveRoutes,
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
