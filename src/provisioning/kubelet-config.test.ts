import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { kubeletConfiguration, kubeletInvocation } from './kubelet-config.ts';

describe('kubelet configuration', () => {
  it('the real kubelet: webhook authn/z with anonymous off, the cluster CA, cluster DNS, no static pods, cgroupfs, cgroup v1 hosts allowed', () => {
    const config = parse(kubeletConfiguration()) as Record<string, unknown> & { authentication: { anonymous: { enabled: boolean }; webhook: { enabled: boolean }; x509: { clientCAFile: string } }; authorization: { mode: string } };
    assert.equal(config.kind, 'KubeletConfiguration');
    assert.equal(config.authentication.anonymous.enabled, false);
    assert.equal(config.authentication.webhook.enabled, true);
    // Relative paths in the file are the kubelet's to resolve against the file's folder (etc/kubernetes).
    assert.equal(config.authentication.x509.clientCAFile, 'pki/ca.crt');
    assert.equal(config.podLogsDir, '../../var/log/pods');
    assert.equal(config.authorization.mode, 'Webhook');
    assert.deepEqual(config.clusterDNS, ['10.43.0.10']);
    assert.equal(config.staticPodPath, '');
    assert.equal(config.cgroupDriver, 'cgroupfs');
    assert.equal(config.failCgroupV1, false);
  });

  it('the real kubelet: its config file, the container runtime socket, the node name and address', () => {
    const { files, args } = kubeletInvocation({ kind: 'kubelet', nodeName: 'w1', address: '10.0.0.3', labels: { 'node-role.drover.dev/worker': 'true' } });
    assert.deepEqual(files.map((f) => f.path), ['etc/kubernetes/kubelet-config.yaml']);
    assert.deepEqual(args, [
      '--config=etc/kubernetes/kubelet-config.yaml', '--kubeconfig=etc/kubernetes/kubelet.kubeconfig', '--hostname-override=w1', '--node-ip=10.0.0.3',
      '--container-runtime-endpoint=unix:///run/containerd/containerd.sock', '--root-dir=var/lib/kubelet', '--node-labels=node-role.drover.dev/worker=true',
    ]);
  });

  it('the test node takes its own flags and no config file', () => {
    const { files, args } = kubeletInvocation({ kind: 'drover-test-kubelet', nodeName: 'n1', address: '127.0.0.1', labels: { a: 'b' } });
    assert.deepEqual(files, []);
    assert.deepEqual(args, ['--kubeconfig', 'etc/kubernetes/kubelet.kubeconfig', '--node-name', 'n1', '--listen', '127.0.0.1:0', '--work-dir', 'var/lib/kubelet', '--label', 'a=b']);
  });
});
