import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { KubeApiError } from '../kube/index.ts';
import { installErrorHandling } from './index.ts';

describe('the REST error responder', () => {
  const app = Fastify();
  installErrorHandling(app);
  app.get('/escaped', () => {
    throw new KubeApiError(409, { kind: 'Status', reason: 'AlreadyExists', message: 'namespaces "team-a" already exists' }, 'create namespace team-a');
  });
  after(() => app.close());

  it('answers a KubeApiError that escaped its handler as the hidden 502 it is, not with Kubernetes\' 409 and no reason', async () => {
    const res = await app.inject({ url: '/escaped' });
    assert.equal(res.statusCode, 502);
    const body = res.json<{ code: string; message: string }>();
    assert.equal(body.code, 'DRV_ERR_INTERNAL');
    assert.doesNotMatch(body.message, /team-a|AlreadyExists/);
  });
});
