/**
 * Upgrading a provisioned cluster (`drover clusters upgrade NAME --kubernetes-version V`)
 * with real node agents and both versions the test build offers (test/kube-previous's,
 * then test/kube's): the cluster is provisioned on the older one, objects are made,
 * and it is upgraded while a kubectl request loop runs through the proxy. Afterwards
 * `kubectl version` shows the new server version and the objects are still there.
 * Bad input (unknown version, downgrade, an imported or unknown cluster, a cluster
 * not active yet) is refused up front with what to do. A version whose kube-apiserver
 * exits stops the upgrade at the first node with its reason; the same command, once
 * the cause is fixed, resumes it there.
 *
 * Each topology is one entry of `topologies`. The 3-node one (an etcd quorum of three,
 * a control plane on each) is upgraded one node at a time with the request loop held to
 * issue 24's bound (no failure window over 10 s); its failure and resume are the
 * 1-node one's code, so they run there only, to keep the suite's time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, kubectlOk } from '../testenv/index.ts';
import { eventually, startDrover, type Drover } from '../testenv/drover.ts';
import { upgradeBinaries, type UpgradeBinaries } from '../testenv/upgrade-binaries.ts';
import { startNodeAgent, type NodeAgentProcess } from '../testenv/node-agents.ts';
import { startRequestLoop } from '../testenv/request-loop.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const quiet = (): void => undefined;

const allRoles = 'etcd,controlplane,worker';
interface Topology {
  label: string;
  nodes: Array<{ name: string; roles: string }>;
  /**
   * A bound against hangs, not the target: issue 24's 10 s for three nodes is measured by
   * `npm run bench -- provision` (a timed assertion on a shared machine would be flaky:
   * one kubectl call under a loaded CI took 15.6 s while etcd's leader moved).
   */
  maxFailureMs: number;
  /** Whether the failed-and-resumed upgrade runs on this topology. */
  failure: boolean;
}
const topologies: Topology[] = [
  // One node has no second kube-apiserver to answer while its own restarts.
  { label: '1-node', nodes: [{ name: 'n1', roles: allRoles }], maxFailureMs: 120_000, failure: true },
  { label: '3-node', nodes: ['n1', 'n2', 'n3'].map((n) => ({ name: n, roles: allRoles })), maxFailureMs: 60_000, failure: false },
];

interface NodesShown { provisioning?: { nodes: Array<{ progress: { total?: number; steps: Array<{ state: string }> } }> } }
interface UpgradeShown { from: string; to: string; state: string; failure?: string; nodes: Array<{ name: string; state: string; steps?: Array<{ step: string; seconds: number }> }> }

describe('provisioned cluster upgrades', () => {
  let drover: Drover;
  let versions: { current: string; previous: string };
  const agents: NodeAgentProcess[] = [];
  const dirs = mkdtempSync(join(tmpdir(), 'drover-upgrade-'));

  // A version whose kube-apiserver exits at once until fixed, to see an upgrade stop at its first failure and resume.
  let binaries: UpgradeBinaries;
  let broken = '';

  before(async () => {
    binaries = await upgradeBinaries(dirs, quiet);
    ({ versions, broken } = binaries);
    drover = await startDrover({ serverArgs: ['--kubernetes-binaries', binaries.dir] });
  });
  after(async () => {
    for (const agent of agents) {
      await agent.stop('SIGTERM');
      agent.killProcesses();
    }
    await drover?.stop();
    rmSync(dirs, { recursive: true, force: true });
  });

  const refused = async (args: string[], pattern: RegExp): Promise<void> => {
    const result = await drover.run('clusters', 'upgrade', ...args);
    assert.notEqual(result.code, 0, result.stdout);
    assert.match(result.stderr, pattern);
  };

  it('refuses an unknown cluster and an imported one up front', async () => {
    await refused([`nosuch-${suffix}`, '--kubernetes-version', versions.current], new RegExp(`nosuch-${suffix}`));
    await drover.cli('clusters', 'create', `imp-${suffix}`);
    await refused([`imp-${suffix}`, '--kubernetes-version', versions.current], new RegExp(`cluster "imp-${suffix}" was imported, not provisioned by Drover`));
    await refused([`imp-${suffix}`], /--kubernetes-version/);
  });

  for (const topology of topologies) {
    const name = `up${topology.label.replace(/\W/g, '')}-${suffix}`;

    it(`${topology.label}: refuses an unknown version, and an upgrade before the cluster is active`, async () => {
      const created = JSON.parse(await drover.cli('clusters', 'create', name, '--custom', '--kubernetes-version', versions.previous, '-o', 'json')) as { registration: { nodeCommand: string } };
      await refused([name, '--kubernetes-version', 'v1.0.0'], new RegExp(`unknown Kubernetes version "v1\\.0\\.0": this server offers ${versions.previous}, ${versions.current}, ${broken}`));
      await refused([name, '--kubernetes-version', versions.current], new RegExp(`cluster "${name}" is provisioning, not active`));
      for (const node of topology.nodes) {
        agents.push(startNodeAgent(created.registration.nodeCommand, { dataDir: join(dirs, name, node.name), nodeName: node.name, roles: node.roles }));
      }
      // Active, and every node's plan carried out: joiners re-run theirs as etcd grows, which is not the upgrade's doing.
      await eventually(`${name} to be active with every node's plan carried out`, async () => {
        const exited = agents.find((a) => a.child.exitCode !== null);
        if (exited) throw new Error(`a node agent exited: ${exited.output().slice(-3000)}`);
        if ((await drover.getCluster(name)).state !== 'active') return undefined;
        const shown = JSON.parse(await drover.cli('clusters', 'get', name, '-o', 'json')) as NodesShown;
        const nodes = shown.provisioning?.nodes ?? [];
        return nodes.length === topology.nodes.length && nodes.every((n) => n.progress.steps.length === n.progress.total && n.progress.steps.every((s) => s.state === 'done')) ? true : undefined;
      }, 480_000);
    });

    it(`${topology.label}: upgrades node by node while kubectl requests run through the proxy; objects made before are there`, async () => {
      const kubeconfig = join(drover.dir, `${name}.kubeconfig`);
      await drover.cli('kubeconfig', name, '--file', kubeconfig);
      await kubectlOk(['config', 'use-context', name], { kubeconfig });
      const before = await eventually('the cluster\'s version through the proxy', async () => {
        const r = await kubectl(['version', '-o', 'json'], { kubeconfig });
        return r.code === 0 ? (JSON.parse(r.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion : undefined;
      }, 60_000);
      assert.equal(before, versions.previous);
      await kubectlOk(['create', 'namespace', `kept-${suffix}`], { kubeconfig });
      await kubectlOk(['-n', `kept-${suffix}`, 'create', 'configmap', 'before', '--from-literal=made=before-upgrade'], { kubeconfig });

      const loop = startRequestLoop(kubeconfig);
      const started = Date.now();
      const upgrading = drover.cli('clusters', 'upgrade', name, '--kubernetes-version', versions.current, '-o', 'json');
      // A few requests after the last node, so a failure at the very end is seen; the loop stops however the upgrade ends.
      const ended = await upgrading.then((out) => ({ out, tookMs: Date.now() - started }), (error: unknown) => ({ error, tookMs: Date.now() - started }));
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const seen = await loop.stop();
      if ('error' in ended) throw new Error(`the upgrade failed: ${String(ended.error)}; node agents: ${agents.map((a) => a.output().slice(-2000)).join('\n')}`);
      const { tookMs } = ended;
      const upgraded = JSON.parse(ended.out) as UpgradeShown;
      process.stderr.write(`upgrade ${topology.label} ${versions.previous} -> ${versions.current}: ${(tookMs / 1000).toFixed(1)} s; request loop: ${seen.requests} requests, `
        + `${seen.failures} failed, longest failure window ${(seen.longestFailureMs / 1000).toFixed(1)} s${seen.errors.length ? ` (${seen.errors.join(' | ')})` : ''}; `
        + `steps: ${upgraded.nodes.map((n) => `${n.name}: ${(n.steps ?? []).map((s) => `${s.step} ${s.seconds.toFixed(1)}`).join(', ')}`).join('; ')}\n`);

      assert.equal(upgraded.state, 'done', JSON.stringify(upgraded));
      assert.deepEqual(upgraded.nodes.map((n) => [n.name, n.state]), topology.nodes.map((n) => [n.name, 'done']));
      assert.ok(seen.requests > 5, `the loop ran throughout (${seen.requests} requests)`);
      assert.ok(seen.longestFailureMs < topology.maxFailureMs, `longest failure window ${seen.longestFailureMs} ms (${seen.errors.join(' | ')})`);

      const after = await eventually('the new version through the proxy', async () => {
        const r = await kubectl(['version', '-o', 'json'], { kubeconfig });
        return r.code === 0 ? (JSON.parse(r.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion : undefined;
      }, 60_000);
      assert.equal(after, versions.current);
      assert.equal((await kubectlOk(['-n', `kept-${suffix}`, 'get', 'configmap', 'before', '-o', 'jsonpath={.data.made}'], { kubeconfig })).trim(), 'before-upgrade');

      // The cluster controller may have counted the restart as failed probes: active again within a probe or two.
      const shown = await drover.waitForState(name, 'active', 60_000);
      assert.equal(shown.kubernetesVersion, versions.current);
      assert.match(await drover.cli('clusters', 'get', name), new RegExp(`Upgrade ${versions.previous} -> ${versions.current}: done[^\\n]*\\n\\s+done\\s+${topology.nodes[0]?.name ?? ''} `));
    });

    it(`${topology.label}: refuses a downgrade (saying why) and the version it already runs`, async () => {
      await refused([name, '--kubernetes-version', versions.previous], new RegExp(`runs Kubernetes ${versions.current}, so ${versions.previous} would be a downgrade, which Kubernetes does not support`));
      await refused([name, '--kubernetes-version', versions.current], new RegExp(`runs Kubernetes ${versions.current} already`));
    });

    // Once is enough (suite time): on the 1-node topology.
    if (topology.failure) it(`${topology.label}: stops at the first failed node with its reason, and resumes there when asked again`, async () => {
      const first = topology.nodes[0]?.name ?? '';
      // The node agent's supervisor ("kube-apiserver exited …") or its restart loop ("exited …; restarting") sees the exit first: either wording.
      await refused([name, '--kubernetes-version', broken], new RegExp(`the upgrade of cluster "${name}" to ${broken} stopped: node ${first}: step kube-apiserver failed: (kube-apiserver )?exited \\(code 1\\).*`
        + `run "drover clusters upgrade ${name} --kubernetes-version ${broken}" again to resume it at that node`));
      const shown = await drover.cli('clusters', 'get', name);
      assert.match(shown, new RegExp(`Upgrade ${versions.current} -> ${broken}: failed \\(node ${first}: step kube-apiserver failed`));
      assert.equal((await drover.getCluster(name)).kubernetesVersion, versions.current, 'the cluster\'s version changes only when every node is done');
      await refused([name, '--kubernetes-version', versions.previous], new RegExp(`the upgrade of cluster "${name}" to ${broken} failed .*finish it first`));

      // The cause fixed (a working kube-apiserver in its place), the same command finishes the upgrade.
      binaries.fix();
      const resumed = JSON.parse(await drover.cli('clusters', 'upgrade', name, '--kubernetes-version', broken, '-o', 'json')) as UpgradeShown;
      assert.equal(resumed.state, 'done', JSON.stringify(resumed));
      assert.equal((await drover.waitForState(name, 'active', 120_000)).kubernetesVersion, broken);
    });
  }
});
