import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initialCluster } from './etcd-membership.ts';

const join = { name: 'n3', peerUrl: 'https://10.0.0.3:2380', clientUrls: ['https://10.0.0.1:2379'] };

describe('initialCluster', () => {
  it('names every member as etcdctl member add prints it: the started ones by name, this node by its own, another unstarted one unnamed', () => {
    const members = [
      { ID: '1', name: 'n1', peerURLs: ['https://10.0.0.1:2380'] },
      { ID: '2', peerURLs: ['https://10.0.0.2:2380'] },
      { ID: '3', peerURLs: ['https://10.0.0.3:2380'] },
    ];
    assert.equal(initialCluster(members, join), '--initial-cluster=n1=https://10.0.0.1:2380,=https://10.0.0.2:2380,n3=https://10.0.0.3:2380');
  });

  it('refuses a member list without this node (etcd would refuse to start it as existing)', () => {
    assert.throws(() => initialCluster([{ ID: '1', name: 'n1', peerURLs: ['https://10.0.0.1:2380'] }], join), /does not hold this node's peer URL https:\/\/10\.0\.0\.3:2380/);
  });
});
