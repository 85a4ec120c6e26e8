import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProvisionedNode } from '../../api-types/index.ts';
import { nodesText } from './provisioned-clusters.ts';

const node = (name: string, silentSeconds?: number): ProvisionedNode => ({
  name, roles: ['etcd', 'controlplane'], address: '10.0.0.1', apiServerPort: 6443, updatedAt: '2026-01-01T00:00:00Z',
  ...(silentSeconds === undefined ? {} : { silentSeconds }),
  progress: { steps: [{ step: 'etcd', state: 'done', at: '2026-01-01T00:00:00Z' }] },
});

describe('clusters get: provisioned nodes', () => {
  it('names a node whose agent has been silent for over 30 s unreachable, above its last report, and no other', () => {
    const text = nodesText({ provisioned: true, kubernetesVersion: 'v1.36.3', nodes: [node('n1', 45), node('n2', 4), node('n3')] });
    assert.match(text, /n1 \[etcd,controlplane\] 10\.0\.0\.1 kube-apiserver :6443\n {4}UNREACHABLE: no word from its node agent for 45 s.*its steps below are its last report\n {4}done {4}etcd/);
    assert.equal(text.match(/UNREACHABLE/g)?.length, 1, text);
  });
});
