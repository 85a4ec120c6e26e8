/**
 * etcd snapshots of a provisioned cluster with replicas: three real replicas on one real
 * PostgreSQL behind a real HAProxy, a real node agent (etcd, kube-apiserver, kubelet…)
 * registered through the load balancer. A snapshot taken through the load balancer is
 * listed through every replica; the replica holding the node's tunnel (which took it)
 * is killed with SIGKILL; the node's tunnel comes back through another replica, and the
 * restore, whose download lands on whichever replica the load balancer picks, brings the
 * cluster back to the snapshot.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, kubectlOk } from '../testenv/index.ts';
import { eventually } from '../testenv/drover.ts';
import { startReplicaSet, type ReplicaSet } from '../testenv/replicas.ts';
import { provisioningBinaries, provisioningVersions } from '../testenv/binaries.ts';
import { startNodeAgent, untilClusterActive, type NodeAgentProcess } from '../testenv/node-agents.ts';

const suffix = Math.random().toString(36).slice(2, 7);

interface Created { cluster: { id: string; name: string }; registration: { nodeCommand: string } }

describe('etcd snapshots of a provisioned cluster through any replica, after the loss of the one that took it', () => {
  let set: ReplicaSet;
  let cluster: Created['cluster'];
  let node: NodeAgentProcess | undefined;
  let snapshotId = '';
  const name = `snap-${suffix}`;
  const dirs = mkdtempSync(join(tmpdir(), 'drover-nodes-'));
  const kubeconfig = (): string => join(set.dir, `${name}.kubeconfig`);
  const state = async (): Promise<string> => (JSON.parse(await set.cli('clusters', 'get', name, '-o', 'json')) as { state: string }).state;

  before(async () => {
    const binaries = await provisioningBinaries(() => undefined);
    set = await startReplicaSet(3, { serverArgs: ['--kubernetes-binaries', binaries] });
    const version = (await provisioningVersions(() => undefined)).current;
    const created = JSON.parse(await set.cli('clusters', 'create', name, '--custom', '--kubernetes-version', version, '-o', 'json')) as Created;
    cluster = created.cluster;
    node = startNodeAgent(created.registration.nodeCommand, { dataDir: join(dirs, 'n1'), nodeName: 'n1' });
    await untilClusterActive(node, name, async () => ({ state: await state() }));
    await set.cli('kubeconfig', name, '--file', kubeconfig());
    await kubectlOk(['config', 'use-context', name], { kubeconfig: kubeconfig() });
  });
  after(async () => {
    await node?.stop('SIGTERM');
    node?.killProcesses();
    await set?.stop();
    rmSync(dirs, { recursive: true, force: true });
  });

  it('a snapshot taken through the load balancer is listed by every replica', async () => {
    await eventually('the cluster to answer through the proxy', async () => ((await kubectl(['get', 'namespaces'], { kubeconfig: kubeconfig() })).code === 0 ? true : undefined), 60_000);
    await kubectlOk(['create', 'namespace', `made-${suffix}`], { kubeconfig: kubeconfig() });
    const snapshot = JSON.parse(await set.cli('clusters', 'snapshots', 'create', name, '-o', 'json')) as { id: string; size: number };
    snapshotId = snapshot.id;
    assert.ok(snapshot.size > 0);
    for (const i of [0, 1, 2]) assert.match(await set.cliAt(i, 'clusters', 'snapshots', 'list', name), new RegExp(snapshot.id), `listed by replica ${i + 1}`);
  });

  it('survives SIGKILL of the replica holding the tunnel: the restore downloads it from whichever replica the load balancer picks', async () => {
    const [holder] = await set.tunnelHolders(cluster.id);
    const victim = set.replicas.findIndex((r) => `127.0.0.1:${r.port}` === holder);
    assert.ok(victim >= 0, `the tunnel holder ${String(holder)} is one of the replicas`);
    await set.replicas[victim]?.kill9();
    await eventually('the node\'s tunnel on another replica', async () => {
      // The dead replica's row stays until it is forgotten: another holder is what counts.
      const holders = await set.tunnelHolders(cluster.id);
      return holders.some((h) => h !== holder) ? true : undefined;
    }, 60_000);
    await eventually('the cluster to answer again', async () => ((await kubectl(['get', 'namespaces'], { kubeconfig: kubeconfig() })).code === 0 ? true : undefined), 60_000);
    await kubectlOk(['create', 'namespace', `after-${suffix}`], { kubeconfig: kubeconfig() });
    assert.match(await set.cli('clusters', 'snapshots', 'list', name), new RegExp(snapshotId));

    const restored = JSON.parse(await set.cli('clusters', 'snapshots', 'restore', name, snapshotId, '--timeout', '4m', '-o', 'json')) as { restore: { snapshotId: string } };
    assert.equal(restored.restore.snapshotId, snapshotId);
    const namespaces = await eventually('the namespaces through the proxy after the restore', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig: kubeconfig() });
      return r.code === 0 ? r.stdout : undefined;
    }, 60_000);
    assert.match(namespaces, new RegExp(`namespace/made-${suffix}`), 'made before the snapshot: there');
    assert.doesNotMatch(namespaces, new RegExp(`namespace/after-${suffix}`), 'made after the snapshot: gone');
  });
});
