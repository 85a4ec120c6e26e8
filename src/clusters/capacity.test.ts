import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuantity, totalCapacity } from './capacity.ts';

describe('capacity', () => {
  it('reads Kubernetes quantities', () => {
    assert.equal(parseQuantity('2'), 2);
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('16Gi'), 16 * 2 ** 30);
    assert.equal(parseQuantity('1024Ki'), 2 ** 20);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity('3k'), 3000);
    assert.ok(Number.isNaN(parseQuantity('12Zi')));
    assert.ok(Number.isNaN(parseQuantity('')));
  });

  it('sums nodes and ignores what it cannot read', () => {
    const node = (cpu: string, memory: string, pods: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: cpu }, status: { capacity: { cpu, memory, pods } } });
    assert.deepEqual(totalCapacity([node('2', '4Gi', '110'), node('1500m', '2048Mi', '110'), node('bad', 'bad', 'bad')]),
      { cpu: '3.5', memory: '6Gi', pods: '220' });
    assert.deepEqual(totalCapacity([]), { cpu: '0', memory: '0Gi', pods: '0' });
  });
});
