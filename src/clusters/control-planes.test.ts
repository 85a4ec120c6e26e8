import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from '../kube/index.ts';
import { controlPlaneNodes } from './control-planes.ts';

const node = (name: string, labels: Record<string, string>, addresses: Array<[string, string]>): Node => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
});

describe('controlPlaneNodes', () => {
  it('keeps labelled control-plane nodes with an ExternalIP, else InternalIP, sorted by name', () => {
    const cp = { 'node-role.kubernetes.io/control-plane': '' };
    assert.deepEqual(controlPlaneNodes([
      node('cp-b', cp, [['InternalIP', '10.0.0.2'], ['ExternalIP', '203.0.113.2']]),
      node('cp-a', cp, [['Hostname', 'cp-a'], ['InternalIP', 'fd00::1']]),
      node('worker', {}, [['InternalIP', '10.0.0.9']]),
      node('cp-no-address', cp, [['Hostname', 'x']]),
    ]), [{ name: 'cp-a', address: 'fd00::1' }, { name: 'cp-b', address: '203.0.113.2' }]);
  });
});
