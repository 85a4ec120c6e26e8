/**
 * A cluster Drover provisions itself: `drover clusters create --custom` and one
 * real node agent with every role, which fetches the binaries from the server,
 * writes certificates from the cluster's CA and runs etcd, kube-apiserver (with
 * kube-api-auth's webhook), kube-api-auth, kube-controller-manager,
 * kube-scheduler and the test kubelet. The cluster turns Active through the node
 * agent's tunnel; kubectl reaches it through the proxy, and through the node's own
 * context (direct access) with the Drover server stopped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, kubectlOk } from '../testenv/index.ts';
import { eventually, startDrover, type Drover } from '../testenv/drover.ts';
import { provisioningBinaries } from '../testenv/binaries.ts';
import { startNodeAgent, type NodeAgentProcess } from '../testenv/node-agents.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const quiet = (): void => undefined;

interface Created { cluster: { id: string; name: string; state: string }; registration: { token: string; nodeCommand: string } }

describe('provisioned clusters', () => {
  let drover: Drover;
  let version: string;
  const nodes: NodeAgentProcess[] = [];
  const dirs = mkdtempSync(join(tmpdir(), 'drover-nodes-'));

  before(async () => {
    const binaries = await provisioningBinaries(quiet);
    version = (await import('node:fs')).readdirSync(binaries)[0] ?? '';
    drover = await startDrover({ serverArgs: ['--kubernetes-binaries', binaries], env: { DROVER_ACE_SYNC_MS: '500' } });
  });
  after(async () => {
    for (const node of nodes) {
      await node.stop('SIGTERM');
      node.killProcesses();
    }
    await drover?.stop();
  });

  it('refuses up front a version the server has no binaries for, naming those it has', async () => {
    const result = await drover.run('clusters', 'create', `bad-${suffix}`, '--custom', '--kubernetes-version', 'v1.0.0');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /unknown Kubernetes version "v1\.0\.0".*offers v\d+\.\d+\.\d+/);
    assert.equal((await drover.run('clusters', 'get', `bad-${suffix}`)).code, 1, 'no cluster is left behind');
  });

  it('a 1-node cluster with every role is provisioned and reached through the proxy, then directly with the server stopped', async () => {
    const name = `prov-${suffix}`;
    const created = JSON.parse(await drover.cli('clusters', 'create', name, '--custom', '--kubernetes-version', version, '-o', 'json')) as Created;
    assert.equal(created.cluster.state, 'provisioning');
    assert.match(created.registration.nodeCommand, /^drover agent --mode node --roles etcd,controlplane,worker --server https:\/\/\S+ --token \S+ --ca-checksum [0-9a-f]{64} --data-dir \S+$/);

    const node = startNodeAgent(created.registration.nodeCommand, { dataDir: join(dirs, 'n1'), nodeName: 'n1' });
    nodes.push(node);
    let last = '';
    await eventually(`${name} to be active`, async () => {
      if (node.child.exitCode !== null) throw new Error(`the node agent exited: ${node.output().slice(-3000)}`);
      const c = await drover.getCluster(name);
      last = c.stateReason;
      return c.state === 'active' ? c : undefined;
    }, 300_000).catch((error: unknown) => { throw new Error(`${String(error)}; last reason: ${last}; node agent: ${node.output().slice(-3000)}`); });

    const shown = await drover.cli('clusters', 'get', name);
    for (const step of ['binaries', 'files', 'etcd', 'kube-apiserver', 'kube-api-auth', 'kube-controller-manager', 'kube-scheduler', 'kubelet']) {
      assert.match(shown, new RegExp(`done\\s+${step}`), shown);
    }

    const kubeconfig = join(drover.dir, `${name}.kubeconfig`);
    await drover.cli('kubeconfig', name, '--file', kubeconfig);
    const contexts = (await kubectlOk(['config', 'get-contexts', '-o', 'name'], { kubeconfig })).split('\n').filter(Boolean);
    assert.ok(contexts.includes(`${name}-n1`), `a node context at once: ${contexts.join(', ')}`);
    await kubectlOk(['config', 'use-context', name], { kubeconfig });
    const nodeList = await eventually('the kubelet\'s Node through the proxy', async () => {
      const r = await kubectl(['get', 'nodes', '-o', 'name'], { kubeconfig });
      return r.code === 0 && r.stdout.includes('node/n1') ? r.stdout : undefined;
    }, 60_000);
    assert.match(nodeList, /node\/n1/);
    await kubectlOk(['create', 'namespace', `made-${suffix}`], { kubeconfig });

    await kubectlOk(['config', 'use-context', `${name}-n1`], { kubeconfig });
    await eventually('direct access through kube-api-auth (AceSync has put the token in)', async () => {
      const r = await kubectl(['get', 'namespace', `made-${suffix}`, '-o', 'name'], { kubeconfig });
      return r.code === 0 ? true : undefined;
    }, 60_000);
    await drover.server.stop();
    const direct = await kubectlOk(['get', 'namespace', `made-${suffix}`, '-o', 'name'], { kubeconfig });
    assert.equal(direct.trim(), `namespace/made-${suffix}`);
  });
});
