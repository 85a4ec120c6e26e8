import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace } from '../kube/index.ts';
import { defaultPlacements } from './namespace-placement.ts';

const annotation = 'field.cattle.io/projectId';
const projects = [
  { id: 'p-def', clusterId: 'c-1', name: 'Default', createdAt: '' },
  { id: 'p-sys', clusterId: 'c-1', name: 'System', createdAt: '' },
  { id: 'p-other', clusterId: 'c-2', name: 'System', createdAt: '' },
];
const ns = (name: string, annotations?: Record<string, string>, deleting = false): Namespace =>
  ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(annotations ? { annotations } : {}), ...(deleting ? { deletionTimestamp: '2026-12-06T00:00:00Z' } : {}) } });

describe('default namespace placement', () => {
  it('puts default into Default and Kubernetes\' own namespaces into System, of this cluster', () => {
    const placed = defaultPlacements([ns('default'), ns('kube-system'), ns('kube-public'), ns('kube-node-lease'), ns('web')], projects, 'c-1', annotation);
    assert.deepEqual(placed, [
      { namespace: 'default', annotation: 'c-1:p-def' }, { namespace: 'kube-system', annotation: 'c-1:p-sys' },
      { namespace: 'kube-public', annotation: 'c-1:p-sys' }, { namespace: 'kube-node-lease', annotation: 'c-1:p-sys' },
    ]);
  });

  it('never moves a namespace someone placed, even into another cluster\'s id, nor one being deleted', () => {
    assert.deepEqual(defaultPlacements([
      ns('default', { [annotation]: 'c-1:p-web' }), ns('kube-system', { [annotation]: '' }), ns('kube-public', {}, true),
    ], projects, 'c-1', annotation), []);
  });

  it('keeps the namespaces holding agent and impersonation tokens out of System', () => {
    assert.deepEqual(defaultPlacements([ns('cattle-system'), ns('cattle-impersonation-system')], projects, 'c-1', annotation), []);
  });

  it('places nothing while the cluster has no such project yet', () => {
    assert.deepEqual(defaultPlacements([ns('default')], [], 'c-1', annotation), []);
  });
});
