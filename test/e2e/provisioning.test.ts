/**
 * A cluster Drover provisions itself: `drover clusters create --custom` and one
 * real node agent with every role, which fetches the binaries from the server,
 * writes certificates from the cluster's CA and runs etcd, kube-apiserver (with
 * kube-api-auth's webhook), kube-api-auth, kube-controller-manager,
 * kube-scheduler and the test kubelet. The cluster turns Active through the node
 * agent's tunnel; kubectl reaches it through the proxy. An etcd snapshot is taken
 * and restored (`clusters snapshots restore`: the node downloads it and etcdutl
 * restores it), then the node's own context (direct access) reaches the cluster
 * with the Drover server stopped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import SQLite from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, kubectlOk } from '../testenv/index.ts';
import { eventually, startDrover, type Drover } from '../testenv/drover.ts';
import { provisioningBinaries, provisioningVersions } from '../testenv/binaries.ts';
import { startNodeAgent, stopNodeAgents, untilClusterActive, type NodeAgentProcess } from '../testenv/node-agents.ts';
import { spawnServer } from './identity-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const quiet = (): void => undefined;

interface Created { cluster: { id: string; name: string; state: string }; registration: { token: string; nodeCommand: string } }

describe('provisioned clusters', () => {
  let drover: Drover;
  let version: string;
  let serverArgs: string[];
  const name = `prov-${suffix}`;
  const nodes: NodeAgentProcess[] = [];
  const dirs = mkdtempSync(join(tmpdir(), 'drover-nodes-'));
  let snapshotId = '';
  let nodeCommand = '';

  before(async () => {
    const binaries = await provisioningBinaries(quiet);
    version = (await provisioningVersions(quiet)).current;
    serverArgs = ['--kubernetes-binaries', binaries];
    drover = await startDrover({ serverArgs, env: { DROVER_ACE_SYNC_MS: '500' } });
  });
  after(async () => {
    await stopNodeAgents(nodes);
    await drover?.stop();
    rmSync(dirs, { recursive: true, force: true });
  });

  it('refuses up front a version the server has no binaries for, naming those it has', async () => {
    const result = await drover.run('clusters', 'create', `bad-${suffix}`, '--custom', '--kubernetes-version', 'v1.0.0');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /unknown Kubernetes version "v1\.0\.0".*offers v\d+\.\d+\.\d+/);
    assert.equal((await drover.run('clusters', 'get', `bad-${suffix}`)).code, 1, 'no cluster is left behind');
  });

  it('a 1-node cluster with every role is provisioned, reached through the proxy, and an etcd snapshot of it kept', async () => {
    const created = JSON.parse(await drover.cli('clusters', 'create', name, '--custom', '--kubernetes-version', version, '-o', 'json')) as Created;
    assert.equal(created.cluster.state, 'provisioning');
    assert.match(created.registration.nodeCommand, /^drover agent --mode node --roles etcd,controlplane,worker --server https:\/\/\S+ --token \S+ --ca-checksum [0-9a-f]{64} --data-dir \S+$/);

    nodeCommand = created.registration.nodeCommand;
    const node = startNodeAgent(nodeCommand, { dataDir: join(dirs, 'n1'), nodeName: 'n1' });
    nodes.push(node);
    await untilClusterActive(node, name, () => drover.getCluster(name), () => `; node agent: ${node.output().slice(-3000)}`);

    const shown = await drover.cli('clusters', 'get', name, '--registration');
    assert.ok(shown.includes(created.registration.nodeCommand), `the node command again: ${shown}`);
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

    // An etcd snapshot through etcd's snapshot API, kept and checksummed by the server.
    const snapshot = JSON.parse(await drover.cli('clusters', 'snapshots', 'create', name, '-o', 'json')) as { id: string; node: string; size: number; sha256: string };
    assert.equal(snapshot.node, 'n1');
    // Kept in the server's database (so any replica serves it), 1 MiB a row.
    const database = new SQLite(join(drover.server.dataDir, 'drover.db'), { readonly: true });
    const rows = database.prepare('select data from etcd_snapshot_chunks where snapshot_id = ? order by seq').all(snapshot.id) as Array<{ data: Buffer }>;
    database.close();
    const kept = Buffer.concat(rows.map((r) => r.data));
    assert.equal(kept.length, snapshot.size);
    assert.equal(createHash('sha256').update(kept).digest('hex'), snapshot.sha256);
    assert.ok(kept.includes(Buffer.from(`made-${suffix}`)), 'the snapshot holds the namespace made before it');
    assert.match(await drover.cli('clusters', 'snapshots', 'list', name), new RegExp(`${snapshot.id}\\s.*n1\\s+${snapshot.size}\\s+${snapshot.sha256}\\s+admin`));
    snapshotId = snapshot.id;
  });

  it('restores the snapshot: a namespace made after it is gone, one made before it is there, and the cluster is active again', async () => {
    const kubeconfig = join(drover.dir, `${name}.kubeconfig`);
    await kubectlOk(['config', 'use-context', name], { kubeconfig });
    await kubectlOk(['create', 'namespace', `after-${suffix}`], { kubeconfig });
    const unknown = await drover.run('clusters', 'snapshots', 'restore', name, 's-nosuchsnap');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, new RegExp(`cluster "${name}" has no snapshot s-nosuchsnap: "drover clusters snapshots list ${name}" shows its snapshots`));
    const started = Date.now();
    const restored = JSON.parse(await drover.cli('clusters', 'snapshots', 'restore', name, snapshotId, '-o', 'json')) as { restore: { id: string; snapshotId: string }; etcdNodes: string[]; nodes: string[] };
    process.stderr.write(`restore of a 1-node cluster: ${Date.now() - started} ms (${restored.nodes.join('; ')})\n`);
    // Each step's time is when it was reported done: the time since the one before is what it took.
    const shown = JSON.parse(await drover.cli('clusters', 'get', name, '-o', 'json')) as { provisioning?: { nodes: Array<{ progress: { steps: Array<{ step: string; at: string; message?: string }> } }> } };
    const steps = shown.provisioning?.nodes[0]?.progress.steps ?? [];
    const times = [started, ...steps.map((s) => Date.parse(s.at))];
    process.stderr.write(`restore steps on n1 (ms): ${steps.map((s, i) => `${s.step} ${(times[i + 1] ?? 0) - (times[i] ?? 0)}`).join(', ')}; ${steps[0]?.message ?? ''}\n`);
    assert.equal(restored.restore.snapshotId, snapshotId);
    assert.deepEqual(restored.etcdNodes, ['n1']);
    assert.match(restored.nodes[0] ?? '', new RegExp(`restored for restore ${restored.restore.id}.*etcd\\.before-${restored.restore.id}`));
    assert.equal((await drover.getCluster(name)).state, 'active');
    const namespaces = await eventually('the namespaces through the proxy after the restore', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code === 0 ? r.stdout : undefined;
    }, 60_000);
    assert.match(namespaces, new RegExp(`namespace/made-${suffix}`), 'made before the snapshot: there');
    assert.doesNotMatch(namespaces, new RegExp(`namespace/after-${suffix}`), 'made after the snapshot: gone');
    assert.ok(existsSync(join(nodes[0]?.dataDir ?? '', `var/lib/etcd.before-${restored.restore.id}`)), 'the data before the restore is kept');
  });

  it('takes snapshots on the cluster\'s schedule and prunes the scheduled ones beyond the retention, never an admin\'s', async () => {
    const set = await drover.cli('clusters', 'update', name, '--snapshot-schedule', '10s', '--snapshot-retention', '2');
    assert.match(set, /etcd snapshots every 10s, the newest 2 scheduled ones kept/);
    assert.match(await drover.cli('clusters', 'get', name), /etcd snapshots every 10s, the newest 2 scheduled ones kept/);
    const seen = new Set<string>();
    const list = async (): Promise<Array<{ id: string; scheduled: boolean }>> => JSON.parse(await drover.cli('clusters', 'snapshots', 'list', name, '-o', 'json')) as Array<{ id: string; scheduled: boolean }>;
    const kept = await eventually('three scheduled snapshots taken, two kept', async () => {
      const now = await list();
      for (const s of now.filter((x) => x.scheduled)) seen.add(s.id);
      return seen.size >= 3 && now.filter((x) => x.scheduled).length === 2 ? now : undefined;
    }, 180_000);
    assert.ok(kept.some((s) => s.id === snapshotId && !s.scheduled), 'the admin\'s snapshot is kept');
    const clusterId = (await drover.getCluster(name)).id;
    const pruned = [...seen].filter((id) => !kept.some((s) => s.id === id));
    assert.ok(pruned.length >= 1);
    for (const id of pruned) assert.equal(existsSync(join(drover.server.dataDir, 'snapshots', clusterId, `${id}.db`)), false, `pruned ${id}: its file is gone`);
    assert.match(await drover.cli('clusters', 'snapshots', 'list', name), /\s+schedule\n/);

    assert.match(await drover.cli('clusters', 'update', name, '--snapshot-schedule', '0'), /no etcd snapshot schedule/);
    assert.match(await drover.cli('clusters', 'get', name), /no etcd snapshot schedule/);
  });

  it('reaches the restored cluster directly, with the server stopped', async () => {
    const kubeconfig = join(drover.dir, `${name}.kubeconfig`);
    await kubectlOk(['config', 'use-context', `${name}-n1`], { kubeconfig });
    await eventually('direct access through kube-api-auth (AceSync has put the token in)', async () => {
      const r = await kubectl(['get', 'namespace', `made-${suffix}`, '-o', 'name'], { kubeconfig });
      return r.code === 0 ? true : undefined;
    }, 60_000);
    await drover.server.stop();
    const direct = await kubectlOk(['get', 'namespace', `made-${suffix}`, '-o', 'name'], { kubeconfig });
    assert.equal(direct.trim(), `namespace/made-${suffix}`);
  });

  const refused = async (agent: NodeAgentProcess): Promise<string> => {
    const code = await new Promise((r) => (agent.child.exitCode === null ? agent.child.once('exit', r) : r(agent.child.exitCode)));
    assert.notEqual(code, 0, agent.output().slice(-2000));
    return agent.output();
  };
  const reconnected = (since: string): Promise<unknown> => eventually(`${name}'s node agent to connect again`, async () => {
    const c = await drover.getCluster(name);
    return c.state === 'active' && c.tunnel === 'node' && (c.lastSeenAt ?? '') > since ? c : undefined;
  }, 180_000);

  it('refuses up front a second machine claiming a node name, a node leaving the only etcd role, and a token of a cluster Drover did not provision', async () => {
    const restarted = new Date().toISOString();
    drover.server = await spawnServer({ dataDir: drover.server.dataDir, port: drover.server.port, args: serverArgs, env: { DROVER_CLUSTER_GRACE_MS: '1500' } });
    // The row still says Active from before the stop: wait for the node agent's tunnel to come back (its backoff reaches 30 s).
    await reconnected(restarted);

    const twin = startNodeAgent(nodeCommand, { dataDir: join(dirs, 'twin'), nodeName: 'n1' });
    assert.match(await refused(twin), new RegExp(`node name "n1" is already registered in cluster "${name}" by another machine.*give this machine another --node-name`));

    const kubeconfig = join(drover.dir, `${name}.kubeconfig`);
    await kubectlOk(['config', 'use-context', name], { kubeconfig });
    await kubectlOk(['create', 'namespace', `kept-${suffix}`], { kubeconfig });
    const n1 = nodes[0] as NodeAgentProcess;
    await n1.stop('SIGTERM');
    const shrunk = startNodeAgent(nodeCommand, { dataDir: n1.dataDir, nodeName: 'n1', roles: 'controlplane,worker' });
    assert.match(await refused(shrunk), new RegExp(`node "n1" cannot leave the etcd role: it is the only etcd node of cluster "${name}".*Run it with --roles etcd,controlplane,worker as before`));
    // Back with its roles: its plan (with the restore it already carried out) runs again, and the restore is not repeated.
    const back = new Date().toISOString();
    nodes[0] = startNodeAgent(nodeCommand, { dataDir: n1.dataDir, nodeName: 'n1' });
    await reconnected(back);
    await kubectlOk(['get', 'namespace', `kept-${suffix}`], { kubeconfig });

    const imported = JSON.parse(await drover.cli('clusters', 'create', `imp-${suffix}`, '-o', 'json')) as Created;
    const stranger = startNodeAgent(nodeCommand.replace(/--token \S+/, `--token ${imported.registration.token}`), { dataDir: join(dirs, 'stranger'), nodeName: 's1' });
    assert.match(await refused(stranger), new RegExp(`belongs to cluster "imp-${suffix}", which Drover did not provision`));
  });

  it('a node data dir refuses another cluster\'s token; delete makes the node agent stop everything and remove its data dir', async () => {
    const node = nodes[0] as NodeAgentProcess;

    const other = JSON.parse(await drover.cli('clusters', 'create', `other-${suffix}`, '--custom', '--kubernetes-version', version, '--snapshot-schedule', '6h', '-o', 'json')) as Created;
    assert.match(await drover.cli('clusters', 'get', `other-${suffix}`), /etcd snapshots every 6h, the newest 5 scheduled ones kept/, 'a schedule set at create, with the default retention');
    const intruder = startNodeAgent(other.registration.nodeCommand, { dataDir: node.dataDir, nodeName: 'n1' });
    const code = await new Promise((r) => intruder.child.once('exit', r));
    assert.notEqual(code, 0);
    assert.match(intruder.output(), /data dir belongs to cluster c-\w+, but its registration token is for cluster "other-/);
    assert.equal((await drover.getCluster(name)).state, 'active', 'the running node was not disturbed');

    const deleted = JSON.parse(await drover.cli('clusters', 'delete', name, '-o', 'json')) as { note: string };
    assert.match(deleted.note, /1 node agent\(s\) told to stop their processes and remove their data dir/);
    const exit = await new Promise((r) => (node.child.exitCode === null ? node.child.once('exit', r) : r(node.child.exitCode)));
    assert.equal(exit, 0, node.output().slice(-2000));
    assert.equal(existsSync(node.dataDir), false, 'the data dir is gone');

    // A worker waiting for a control plane holds no tunnel: deleting its cluster cannot reach it, and says so.
    const waiting = startNodeAgent(other.registration.nodeCommand, { dataDir: join(dirs, 'w1'), nodeName: 'w1', roles: 'worker' });
    nodes.push(waiting);
    await eventually('w1 to register and wait', async () => (/waiting for a node with the etcd role/.test(await drover.cli('clusters', 'get', `other-${suffix}`)) ? true : undefined), 60_000);
    const unreached = JSON.parse(await drover.cli('clusters', 'delete', `other-${suffix}`, '-o', 'json')) as { note: string };
    assert.match(unreached.note, /NOT REACHED \(no tunnel now\): w1 \(127\.0\.0\.1\): stop their node agent and remove its --data-dir by hand/);
  });
});
