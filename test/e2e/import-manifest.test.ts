/**
 * The import manifest is accepted by a real kube-apiserver (server-side dry run), and
 * every workload in it (cluster agent, node agent, kube-api-auth) runs the image the
 * server's one setting names: `--agent-image`, else DROVER_AGENT_IMAGE, else the
 * drover/drover:<version> that deploy/build-image.sh tags (test/e2e/image.test.ts builds it).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl, sharedControlPlane, type ControlPlaneState } from '../testenv/index.ts';
import { startDrover, type Drover, type Registration } from '../testenv/drover.ts';
import { call } from './identity-support.ts';
import { importManifest } from '../../src/clusters/import-manifest.ts';
import { serverConfigFromFlags } from '../../src/server/index.ts';

interface Workload { kind: string; metadata: { name: string }; spec: { template: { spec: { containers: Array<{ image: string }> } } } }

describe('import manifest against a real kube-apiserver', () => {
  let cp: ControlPlaneState;
  before(async () => {
    cp = await sharedControlPlane();
    // A server-side dry run of namespaced objects needs their namespace to exist.
    const ns = await kubectl(['create', 'namespace', 'cattle-system'], { kubeconfig: cp.kubeconfigPath });
    assert.ok(ns.code === 0 || /AlreadyExists/.test(ns.stderr), ns.stderr);
  });

  /** Applies the manifest with a server-side dry run and returns each workload's container images, by name. */
  const dryRunImages = async (manifest: string): Promise<Record<string, string[]>> => {
    const result = await kubectl(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], { kubeconfig: cp.kubeconfigPath, input: manifest });
    assert.equal(result.code, 0, result.stderr);
    const objects = (JSON.parse(result.stdout) as { items: Workload[] }).items;
    return Object.fromEntries(objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet')
      .map((o) => [o.metadata.name, o.spec.template.spec.containers.map((c) => c.image)]));
  };

  it('passes kubectl apply --dry-run=server, with and without kube-api-auth, every workload on the built image', async () => {
    const image = serverConfigFromFlags({}).agentImage;
    for (const kubeApiAuth of [undefined, { listen: '127.0.0.1:6440' }]) {
      const manifest = importManifest({
        serverUrl: 'https://drover.example:8443', clusterId: 'c-dry01', registrationToken: 'x'.repeat(54),
        caChecksum: 'b'.repeat(64), image, ...(kubeApiAuth ? { kubeApiAuth } : {}),
      });
      const images = await dryRunImages(manifest);
      assert.deepEqual(images, {
        'cattle-cluster-agent': [image], 'cattle-node-agent': [image], ...(kubeApiAuth ? { 'kube-api-auth': [image] } : {}),
      });
    }
  });

  describe('served by a drover server started with --agent-image', () => {
    const configured = 'registry.example:5000/ops/drover:e2e';
    let drover: Drover;
    before(async () => { drover = await startDrover({ serverArgs: ['--agent-image', configured], env: { DROVER_AGENT_IMAGE: 'ignored/by:flag' } }); });
    after(async () => { await drover.stop(); });

    it('names that image for the cluster agent and the node agent, and the apiserver accepts it', async () => {
      const created = JSON.parse(await drover.cli('clusters', 'create', 'imported', '-o', 'json')) as { registration: Registration };
      const manifest = await call(drover.server, 'GET', new URL(created.registration.manifestUrl).pathname);
      assert.equal(manifest.status, 200, manifest.text);
      assert.deepEqual(await dryRunImages(manifest.text), { 'cattle-cluster-agent': [configured], 'cattle-node-agent': [configured] });
    });

    it('carries kube-api-auth while the cluster\'s authorized endpoint is on, and the apiserver accepts it', async () => {
      const created = JSON.parse(await drover.cli('clusters', 'create', 'ace-imported', '-o', 'json')) as { registration: Registration };
      const path = new URL(created.registration.manifestUrl).pathname;
      const served = async (): Promise<Record<string, string[]>> => {
        const manifest = await call(drover.server, 'GET', path);
        assert.equal(manifest.status, 200, manifest.text);
        return dryRunImages(manifest.text);
      };
      const agents = { 'cattle-cluster-agent': [configured], 'cattle-node-agent': [configured] };
      for (const flag of ['--ace-nodes', '--ace-fqdn=ace.example:6443']) {
        await drover.cli('clusters', 'update', 'ace-imported', flag);
        assert.deepEqual(await served(), { ...agents, 'kube-api-auth': [configured] }, flag);
      }
      await drover.cli('clusters', 'update', 'ace-imported', '--ace-off');
      assert.deepEqual(await served(), agents);
    });
  });
});
