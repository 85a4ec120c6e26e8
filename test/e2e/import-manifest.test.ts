/** The import manifest is accepted by a real kube-apiserver (server-side dry run). */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl, sharedControlPlane, type ControlPlaneState } from '../testenv/index.ts';
import { importManifest } from '../../src/clusters/import-manifest.ts';

describe('import manifest against a real kube-apiserver', () => {
  let cp: ControlPlaneState;
  before(async () => {
    cp = await sharedControlPlane();
    // A server-side dry run of namespaced objects needs their namespace to exist.
    const ns = await kubectl(['create', 'namespace', 'cattle-system'], { kubeconfig: cp.kubeconfigPath });
    assert.ok(ns.code === 0 || /AlreadyExists/.test(ns.stderr), ns.stderr);
  });

  it('passes kubectl apply --dry-run=server, with and without kube-api-auth', async () => {
    for (const kubeApiAuth of [undefined, { listen: '127.0.0.1:6440' }]) {
      const manifest = importManifest({
        serverUrl: 'https://drover.example:8443', clusterId: 'c-dry01', registrationToken: 'x'.repeat(54),
        caChecksum: 'b'.repeat(64), image: 'drover/drover:0.1.0', ...(kubeApiAuth ? { kubeApiAuth } : {}),
      });
      const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], { kubeconfig: cp.kubeconfigPath, input: manifest });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /deployment.apps\/cattle-cluster-agent created \(server dry run\)/);
      assert.match(result.stdout, /daemonset.apps\/cattle-node-agent created \(server dry run\)/);
    }
  });
});
