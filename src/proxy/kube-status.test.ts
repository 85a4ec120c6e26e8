import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError } from '../kube/index.ts';
import { DroverError } from '../errors/index.ts';
import { kubeStatusBody } from './kube-status.ts';

describe('Kubernetes Status answers', () => {
  it('answers a KubeApiError that escaped the chain as a hidden 502, naming neither Kubernetes\' status nor its message', () => {
    const escaped = new KubeApiError(409, { kind: 'Status', reason: 'AlreadyExists', message: 'serviceaccounts "x" already exists' }, 'apply x');
    const { status, body } = kubeStatusBody(escaped);
    assert.equal(status, 502);
    const parsed = JSON.parse(body) as { code: number; details: { causes: Array<{ reason: string }> } };
    assert.equal(parsed.code, 502);
    assert.equal(parsed.details.causes[0]?.reason, 'DRV_ERR_KUBE_API');
    assert.doesNotMatch(body, /already exists/);
  });

  it('keeps the status, code and message of an error meant for the caller', () => {
    const { status, body } = kubeStatusBody(new DroverError('DRV_ERR_FORBIDDEN', 'not a member of cluster c-1'));
    assert.equal(status, 403);
    assert.match(body, /"reason":"Forbidden"/);
    assert.match(body, /DRV_ERR_FORBIDDEN/);
    assert.match(body, /not a member of cluster c-1/);
  });
});
