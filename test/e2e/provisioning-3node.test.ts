/**
 * A three-node provisioned cluster: three real node agents on loopback (own data
 * dirs and ports), every role on each. The first etcd node to get a plan starts etcd,
 * the other two join it (MemberAdd), so etcd has three voting members; every
 * control-plane node's agent holds a tunnel session (the cluster controller admits any
 * kube-apiserver the cluster's CA verifies). Then one node agent and its processes are
 * killed with SIGKILL: kubectl through the proxy works again through another node, the
 * cluster is Active, and `clusters get` names the dead node unreachable; it comes back
 * without the etcd role, and the others remove its etcd member. Before that,
 * a snapshot is restored on all three members at once (one new etcd cluster).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, kubectlOk, sharedControlPlane } from '../testenv/index.ts';
import { eventually, spawnAgent, startDrover, type Drover } from '../testenv/drover.ts';
import { provisioningBinaries, provisioningVersions } from '../testenv/binaries.ts';
import { startNodeAgent, stopNodeAgents, type NodeAgentProcess } from '../testenv/node-agents.ts';
import { etcdTlsOptions, listMembers } from '../../src/provisioning/index.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const names = ['n1', 'n2', 'n3'];

interface NodesView { provisioning?: { nodes: Array<{ name: string; silentSeconds?: number; progress: { total?: number; steps: Array<{ step: string; state: string; message?: string }> } }> } }

describe('a three-node provisioned cluster', () => {
  let drover: Drover;
  const name = `tri-${suffix}`;
  const nodes: NodeAgentProcess[] = [];
  const dirs = mkdtempSync(join(tmpdir(), 'drover-3nodes-'));
  let kubeconfig = '';
  let nodeCommand = '';

  before(async () => {
    const binaries = await provisioningBinaries(() => undefined);
    const version = (await provisioningVersions(() => undefined)).current;
    drover = await startDrover({ serverArgs: ['--kubernetes-binaries', binaries], env: { DROVER_ACE_SYNC_MS: '500' } });
    const created = JSON.parse(await drover.cli('clusters', 'create', name, '--custom', '--kubernetes-version', version, '-o', 'json')) as { registration: { nodeCommand: string } };
    nodeCommand = created.registration.nodeCommand;
    for (const node of names) nodes.push(startNodeAgent(nodeCommand, { dataDir: join(dirs, node), nodeName: node }));
    kubeconfig = join(drover.dir, `${name}.kubeconfig`);
  });
  after(async () => {
    await stopNodeAgents(nodes);
    await drover?.stop();
    rmSync(dirs, { recursive: true, force: true });
  });

  const shown = async (): Promise<NodesView> => JSON.parse(await drover.cli('clusters', 'get', name, '-o', 'json')) as NodesView;
  /** etcd's members as the node `of` sees them, through etcd's API with that node's client certificate. */
  const members = async (of: NodeAgentProcess): Promise<Array<{ name?: string; isLearner?: boolean }>> => {
    const port = (JSON.parse(readFileSync(join(of.dataDir, 'node.json'), 'utf8')) as { ports: { etcdClient: number } }).ports.etcdClient;
    const pki = 'etc/kubernetes/pki';
    const tls = etcdTlsOptions(of.dataDir, { kind: 'https', url: '', caFile: `${pki}/ca.crt`, certFile: `${pki}/etcd-healthcheck-client.crt`, keyFile: `${pki}/etcd-healthcheck-client.key` });
    return (await listMembers([`https://127.0.0.1:${port}`], tls)).members;
  };

  it('is built: one etcd of three voting members, a tunnel session from each control-plane node, kubectl through the proxy and directly to each node', async () => {
    const started = Date.now();
    let last = '';
    await eventually(`${name}: active, every node's plan carried out`, async () => {
      for (const node of nodes) if (node.child.exitCode !== null) throw new Error(`a node agent exited: ${node.output().slice(-3000)}`);
      const cluster = await drover.getCluster(name);
      const view = (await shown()).provisioning?.nodes ?? [];
      last = `${cluster.state} (${cluster.stateReason}); ${view.map((n) => `${n.name}: ${n.progress.steps.map((s) => `${s.step} ${s.state}`).join(', ')}`).join(' | ')}`;
      const done = view.length === 3 && view.every((n) => n.progress.steps.length === n.progress.total && n.progress.steps.every((s) => s.state === 'done'));
      return cluster.state === 'active' && done ? true : undefined;
    }, 480_000).catch((error: unknown) => { throw new Error(`${String(error)}; last: ${last}; n2: ${nodes[1]?.output().slice(-3000) ?? ''}`); });
    process.stderr.write(`3-node cluster active, every plan carried out: ${Date.now() - started} ms\n`);

    const etcd = await eventually('three started etcd members', async () => {
      const list = await members(nodes[0] as NodeAgentProcess).catch(() => []);
      return list.length === 3 && list.every((m) => m.name) ? list : undefined;
    }, 60_000);
    assert.deepEqual(etcd.map((m) => m.name).sort(), names);
    assert.equal(etcd.some((m) => m.isLearner === true), false, 'all three vote');

    for (const node of nodes) {
      await eventually(`${node.dataDir}'s agent to hold a tunnel session`, () => Promise.resolve(node.output().includes('tunnel connected') ? true : undefined), 120_000);
      assert.doesNotMatch(node.output(), /the server refused this agent/);
    }

    await drover.cli('kubeconfig', name, '--file', kubeconfig);
    await kubectlOk(['config', 'use-context', name], { kubeconfig });
    const listed = await eventually('the three Nodes through the proxy', async () => {
      const r = await kubectl(['get', 'nodes', '-o', 'name'], { kubeconfig });
      return r.code === 0 && names.every((n) => r.stdout.includes(`node/${n}`)) ? r.stdout : undefined;
    }, 120_000);
    assert.match(listed, /node\/n3/);
    await kubectlOk(['create', 'namespace', `made-${suffix}`], { kubeconfig });
    for (const node of names) {
      await eventually(`direct access through ${node}'s own kube-apiserver`, async () => {
        const r = await kubectl(['--context', `${name}-${node}`, 'get', 'namespace', `made-${suffix}`, '-o', 'name'], { kubeconfig });
        return r.code === 0 ? true : undefined;
      }, 60_000);
    }
  });

  it('restores a snapshot on all three etcd members (one new etcd cluster from the same snapshot), and etcd has three voting members again', async () => {
    const snapshot = JSON.parse(await drover.cli('clusters', 'snapshots', 'create', name, '-o', 'json')) as { id: string };
    await kubectlOk(['create', 'namespace', `gone-${suffix}`], { kubeconfig });
    const started = Date.now();
    const restored = JSON.parse(await drover.cli('clusters', 'snapshots', 'restore', name, snapshot.id, '-o', 'json')) as { etcdNodes: string[]; nodes: string[] };
    process.stderr.write(`restore of a 3-node cluster: ${Date.now() - started} ms (${restored.nodes.join('; ')})\n`);
    assert.deepEqual([...restored.etcdNodes].sort(), names);
    for (const line of restored.nodes) assert.match(line, /restored for restore r-/);
    const namespaces = await eventually('the namespaces through the proxy after the restore', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code === 0 ? r.stdout : undefined;
    }, 60_000);
    assert.match(namespaces, new RegExp(`namespace/made-${suffix}`), 'made before the snapshot: there');
    assert.doesNotMatch(namespaces, new RegExp(`namespace/gone-${suffix}`), 'made after the snapshot: gone');
    const etcd = await eventually('three started etcd members after the restore', async () => {
      const list = await members(nodes[1] as NodeAgentProcess).catch(() => []);
      return list.length === 3 && list.every((m) => m.name) ? list : undefined;
    }, 60_000);
    assert.deepEqual(etcd.map((m) => m.name).sort(), names);
  });

  it('refuses an agent with this cluster\'s token that reports a kube-apiserver of another cluster (another CA), and keeps serving through the nodes', async () => {
    const words = nodeCommand.split(/\s+/);
    const flag = (f: string): string => words[words.indexOf(f) + 1] ?? '';
    const other = await sharedControlPlane();
    const impostor = spawnAgent(drover.server.url, { token: flag('--token'), caChecksum: flag('--ca-checksum'), agentCommand: '', manifestUrl: '' }, other.kubeconfigPath);
    try {
      await eventually('the impostor refused', () => Promise.resolve(/the server refused this agent/.test(impostor.output()) ? true : undefined), 90_000);
      assert.match(impostor.output(), /reports a kube-apiserver other than the one pinned for cluster .*CA sha256/);
    } finally {
      await impostor.stop();
    }
    await kubectlOk(['get', 'namespace', `made-${suffix}`], { kubeconfig });
  });

  it('survives losing the node whose session carries the traffic: kubectl through the proxy works again through another node, the cluster is active, and clusters get names the dead node', async () => {
    // The server sends a cluster's traffic through its oldest node session: the first node admitted and still connected.
    const connected: string[] = [];
    for (const line of drover.server.output().split('\n')) {
      const entry = (() => { try { return JSON.parse(line) as { msg?: string; node?: string }; } catch { return {}; } })();
      if (!entry.node || !names.includes(entry.node)) continue;
      if (entry.msg === 'agent admitted' && !connected.includes(entry.node)) connected.push(entry.node);
      if (entry.msg === 'agent disconnected') connected.splice(connected.indexOf(entry.node), 1);
    }
    const carrier = connected[0] ?? 'n1';
    const dead = nodes[names.indexOf(carrier)] as NodeAgentProcess;
    // SIGKILL: the node agent cannot stop its processes (each in its own process group, they outlive it), so kill them too, as a lost machine would.
    await dead.stop('SIGKILL');
    dead.killProcesses();
    const killed = Date.now();
    await eventually('kubectl through the proxy after the loss', async () => {
      const r = await kubectl(['get', 'namespace', `made-${suffix}`, '-o', 'name', '--request-timeout=5s'], { kubeconfig });
      return r.code === 0 ? true : undefined;
    }, 120_000);
    process.stderr.write(`kubectl through the proxy works again ${Date.now() - killed} ms after a node was killed\n`);
    // Writes need etcd's quorum: two of three members are left.
    await kubectlOk(['create', 'namespace', `after-${suffix}`], { kubeconfig });
    await eventually(`${name} active`, async () => ((await drover.getCluster(name)).state === 'active' ? true : undefined), 120_000);

    const text = await eventually('clusters get naming n1 unreachable', async () => {
      const out = await drover.cli('clusters', 'get', name);
      return new RegExp(`${carrier} \\[[^\\]]+\\][^\\n]*\\n\\s+UNREACHABLE: no word from its node agent`).test(out) ? out : undefined;
    }, 120_000);
    for (const alive of names.filter((n) => n !== carrier)) assert.doesNotMatch(text, new RegExp(`${alive} \\[[^\\]]+\\][^\\n]*\\n\\s+UNREACHABLE`));
    process.stderr.write(`killed ${carrier} (its session carried the traffic); clusters get names it ${Date.now() - killed} ms after\n`);

    // The machine comes back without the etcd role: the other etcd nodes remove its member, so etcd has the two that run.
    nodes[names.indexOf(carrier)] = startNodeAgent(nodeCommand, { dataDir: dead.dataDir, nodeName: carrier, roles: 'controlplane,worker' });
    const alive = names.filter((n) => n !== carrier);
    const left = await eventually(`${carrier}'s etcd member removed`, async () => {
      const list = await members(nodes[names.indexOf(alive[0] ?? '')] as NodeAgentProcess).catch(() => []);
      return list.length === 2 && list.every((m) => m.name) ? list : undefined;
    }, 180_000);
    assert.deepEqual(left.map((m) => m.name).sort(), alive);
    await eventually('kubectl through the proxy with two etcd members', async () => ((await kubectl(['get', 'namespace', `after-${suffix}`], { kubeconfig })).code === 0 ? true : undefined), 120_000);
  });
});
