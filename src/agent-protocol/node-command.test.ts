import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCommand } from './node-command.ts';

describe('nodeCommand', () => {
  const join = { server: 'https://drover.example:8443', token: 'T0k', caChecksum: 'ab12' };

  it('has every role unless told, in one fixed order whatever order they were picked in', () => {
    assert.equal(nodeCommand(join), 'drover agent --mode node --roles etcd,controlplane,worker --server https://drover.example:8443 --token T0k --ca-checksum ab12 --data-dir /var/lib/drover-node');
    assert.match(nodeCommand(join, ['worker', 'etcd']), / --roles etcd,worker /);
  });

  it('adds the node name and address only when given', () => {
    assert.match(nodeCommand(join, ['worker'], { nodeName: 'w1', address: '10.0.0.5' }), / --data-dir \/var\/lib\/drover-node --node-name w1 --address 10\.0\.0\.5$/);
    assert.match(nodeCommand(join, ['worker'], { nodeName: '', address: '' }), /drover-node$/);
  });
});
