import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kubeletInvocation } from './kubelet-config.ts';
import { inDataDir, localArgs } from './kubelet-local.ts';
import type { PlannedProcess } from './plan.ts';

const kubelet = (args: string[]): PlannedProcess => ({ name: 'kubelet', binary: 'kubelet', args, health: { kind: 'running' } });
const planned = kubeletInvocation({ kind: 'kubelet', nodeName: 'w1', address: '10.0.0.3', labels: {} }).args;

describe('the kubelet\'s node-local arguments', () => {
  it('makes the plan\'s data-dir paths absolute, since the kubelet hands them to the container runtime', () => {
    const args = localArgs(kubelet(planned), { dataDir: '/srv/node' });
    assert.ok(args.includes('--root-dir=/srv/node/var/lib/kubelet'), args.join(' '));
    assert.ok(args.includes('--config=/srv/node/etc/kubernetes/kubelet-config.yaml'), args.join(' '));
    assert.ok(args.includes('--kubeconfig=/srv/node/etc/kubernetes/kubelet.kubeconfig'), args.join(' '));
    assert.ok(args.includes('--container-runtime-endpoint=unix:///run/containerd/containerd.sock'), 'the plan\'s endpoint without a node setting');
    assert.equal(args.length, planned.length);
  });

  it('takes the container runtime endpoint from the node\'s setting', () => {
    const args = localArgs(kubelet(planned), { dataDir: '/srv/node', containerRuntimeEndpoint: 'unix:///tmp/c1/containerd.sock' });
    assert.deepEqual(args.filter((a) => a.startsWith('--container-runtime-endpoint')), ['--container-runtime-endpoint=unix:///tmp/c1/containerd.sock']);
  });

  it('leaves other processes and the test node\'s `--flag value` pairs alone', () => {
    const etcd: PlannedProcess = { name: 'etcd', binary: 'etcd', args: ['--data-dir=var/lib/etcd'], health: { kind: 'running' } };
    assert.deepEqual(localArgs(etcd, { dataDir: '/srv/node', containerRuntimeEndpoint: 'unix:///x' }), ['--data-dir=var/lib/etcd']);
    const test = kubeletInvocation({ kind: 'drover-test-kubelet', nodeName: 'n1', address: '127.0.0.1', labels: {} }).args;
    assert.deepEqual(localArgs(kubelet(test), { dataDir: '/srv/node', containerRuntimeEndpoint: 'unix:///x' }), test);
  });

  it('refuses a loopback node address up front: the kubelet would run but never register its Node', () => {
    for (const address of ['127.0.0.1', '127.0.0.2', '::1']) {
      const args = kubeletInvocation({ kind: 'kubelet', nodeName: 'w1', address, labels: {} }).args;
      assert.throws(() => localArgs(kubelet(args), { dataDir: '/srv/node' }), /--address: expected this machine's address on its network for a worker: the kubelet refuses a loopback node IP/, address);
    }
    const test = kubeletInvocation({ kind: 'drover-test-kubelet', nodeName: 'n1', address: '127.0.0.1', labels: {} }).args;
    assert.deepEqual(localArgs(kubelet(test), { dataDir: '/srv/node' }), test, 'the test node runs on loopback');
  });

  it('refuses a plan whose kubelet paths leave the data dir (the kubelet runs as root: a root dir of /etc would be the host\'s)', () => {
    for (const path of ['../../etc', '/etc', '/srv/node-other/x', '/srv/node', '.']) {
      assert.throws(() => localArgs(kubelet([`--root-dir=${path}`]), { dataDir: '/srv/node' }), /the plan names a path outside the data dir/, path);
      assert.throws(() => inDataDir('/srv/node', path), /outside the data dir/, path);
    }
    assert.equal(inDataDir('/srv/node', 'var/../etc/x'), '/srv/node/etc/x');
  });
});
