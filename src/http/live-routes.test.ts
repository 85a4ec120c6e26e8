import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { collectLiveRoutes, LiveRoutes } from './live-routes.ts';

describe('routes that need a cluster live, declared where they are defined', () => {
  const collected = async (): Promise<LiveRoutes> => {
    const routes = new LiveRoutes();
    const app = Fastify();
    collectLiveRoutes(app, routes);
    const ok = (): Promise<string> => Promise.resolve('ok');
    // As the feature folders register them: in plugins, some under a prefix.
    await app.register((scope, _opts, done) => {
      scope.get('/v1/clusters/:id/namespaces', { config: { live: 'session' } }, ok);
      scope.post('/v1/clusters/:id/projects/:project/namespaces', { config: { live: 'session' } }, ok);
      scope.get('/v1/clusters/:id/warnings', { config: { live: 'owner' } }, ok);
      scope.delete('/v1/clusters/:id', { config: { live: 'session' } }, ok);
      scope.get('/v1/clusters/:id', ok);
      scope.get('/v1/clusters/:id/members', ok);
      done();
    });
    await app.register((scope, _opts, done) => {
      scope.post('/:id/snapshots', { config: { live: 'session' } }, ok);
      done();
    }, { prefix: '/v1/clusters' });
    await app.ready();
    await app.close();
    return routes;
  };

  it('names the cluster (id or name, as written) and what the route needs', async () => {
    const routes = await collected();
    const cases: Array<[string, string, ReturnType<LiveRoutes['match']>]> = [
      ['GET', '/v1/clusters/c-1/namespaces', { cluster: 'c-1', need: 'session' }],
      ['GET', '/v1/clusters/prod/namespaces?watch=1', { cluster: 'prod', need: 'session' }],
      ['POST', '/v1/clusters/c-1/projects/p-1/namespaces', { cluster: 'c-1', need: 'session' }],
      ['POST', '/v1/clusters/c-1/snapshots', { cluster: 'c-1', need: 'session' }],
      ['DELETE', '/v1/clusters/c-1', { cluster: 'c-1', need: 'session' }],
      ['GET', '/v1/clusters/c-1/warnings', { cluster: 'c-1', need: 'owner' }],
      ['GET', '/v1/clusters/my%20cluster/warnings', { cluster: 'my cluster', need: 'owner' }],
    ];
    for (const [method, url, want] of cases) assert.deepEqual(routes.match(method, url), want, `${method} ${url}`);
  });

  it('everything else is answered where it lands', async () => {
    const routes = await collected();
    for (const [method, url] of [
      ['GET', '/v1/clusters/c-1'], ['GET', '/v1/clusters'], ['PATCH', '/v1/clusters/c-1'], ['GET', '/v1/clusters/c-1/members'],
      ['GET', '/v1/clusters/c-1/snapshots'], ['DELETE', '/v1/clusters/c-1/namespaces'], ['GET', '/v1/clusters/c-1/namespaces/extra'],
      ['GET', '/v1/clusters/%E0%A4%A/warnings'], ['GET', '/v1/clusters/a.b/warningsX'], ['GET', undefined], [undefined, '/v1/clusters/c-1/warnings'],
    ] as Array<[string | undefined, string | undefined]>) {
      assert.equal(routes.match(method, url), undefined, `${String(method)} ${String(url)}`);
    }
  });

  it('refuses a live route whose path does not name its cluster', () => {
    assert.throws(() => new LiveRoutes().add('GET', '/v1/clusters/:cluster/namespaces', 'session'), /no :id segment/);
  });
});
