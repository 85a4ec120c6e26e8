/**
 * Time to provision a cluster with real processes, broken down by step as the node
 * agents reported them: from `clusters create --custom` to the cluster Active through
 * a node agent's tunnel, for 1 node and for 3 nodes (every role on each, on this one
 * machine). Each run starts from empty data dirs, so `binaries` includes downloading
 * and checking about 250 MB per node. With 3 nodes, each node re-runs its plan as
 * the others join (its etcd member list changes): the steps shown are of each node's
 * last run, the plan runs are counted by polling the progress, and the cluster is
 * done once every plan is carried out and none changed for 15 s (a node asks for its
 * plan every 10 s).
 * The 3-node cluster is provisioned at the test build's earlier version, then upgraded
 * to the current one (`clusters upgrade`) while a kubectl loop runs through the proxy:
 * the upgrade's time node by node and step by step, and the longest failure window.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext, BenchResult } from './bench.ts';
import { startDrover, type Drover } from '../test/testenv/drover.ts';
import { provisioningBinaries, provisioningVersions } from '../test/testenv/binaries.ts';
import { startNodeAgent, stopNodeAgents } from '../test/testenv/node-agents.ts';
import { eventually } from '../test/testenv/wait.ts';
import { kubectlOk } from '../test/testenv/index.ts';
import { startRequestLoop } from '../test/testenv/request-loop.ts';

interface Step { step: string; state: string; at: string }
interface NodeView { name: string; progress: { planId?: string; total?: number; steps: Step[] } }
interface Shown { state: string; createdAt: string; provisioning?: { nodes: NodeView[] } }
interface Run { nodes: number; activeMs: number; allDoneMs: number; perNode: Array<{ name: string; planRuns: number; steps: Array<{ step: string; ms: number }> }> }

export default async function bench(ctx: BenchContext): Promise<BenchResult> {
  const binaries = await provisioningBinaries(ctx.progress);
  const versions = await provisioningVersions(ctx.progress);
  const version = versions.previous;
  const drover = await startDrover({ serverArgs: ['--kubernetes-binaries', binaries] });
  try {
    const runs: Run[] = [];
    let upgrade: Awaited<ReturnType<typeof measureUpgrade>> | undefined;
    for (const count of [1, 3]) {
      ctx.progress(`provisioning a ${count}-node cluster`);
      runs.push(await provision(drover, version, count, async (name, dir) => {
        if (count !== 3) return;
        ctx.progress(`upgrading the 3-node cluster to ${versions.current}`);
        upgrade = await measureUpgrade(drover, name, join(dir, 'bench.kubeconfig'), versions.current);
      }));
    }
    const lines = runs.flatMap((run) => [
      `${run.nodes}-node cluster (etcd, controlplane, worker on each), Kubernetes ${version}: ${(run.activeMs / 1000).toFixed(1)} s from create to Active, `
        + `${(run.allDoneMs / 1000).toFixed(1)} s until every node's plan is carried out`,
      '',
      `| step | ${run.perNode.map((n) => `${n.name} (${n.planRuns} plan run${n.planRuns === 1 ? '' : 's'}), s`).join(' | ')} |`,
      `| --- | ${run.perNode.map(() => '---').join(' | ')} |`,
      ...(run.perNode[0]?.steps ?? []).map((s, i) => `| ${s.step === 'plan' ? 'from create: start, register, earlier plan runs, stop, plan' : s.step} | ${run.perNode.map((n) => ((n.steps[i]?.ms ?? 0) / 1000).toFixed(1)).join(' | ')} |`),
      '',
    ]);
    return { summary: [...lines, ...(upgrade?.lines ?? [])].join('\n'), figures: { version, runs, upgrade: upgrade?.figures } };
  } finally {
    await drover.stop();
  }
}

/** Provisions a `count`-node cluster and measures it; `then` runs on the finished cluster before its node agents stop. */
async function provision(drover: Drover, version: string, count: number, then: (name: string, dir: string) => Promise<void>): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-bench-provision-'));
  const name = `bench-${count}`;
  const started = Date.now();
  const created = JSON.parse(await drover.cli('clusters', 'create', name, '--custom', '--kubernetes-version', version, '-o', 'json')) as { registration: { nodeCommand: string } };
  const nodes = Array.from({ length: count }, (_, i) => startNodeAgent(created.registration.nodeCommand, { dataDir: join(dir, `n${i + 1}`), nodeName: `n${i + 1}` }));
  const plans = new Map<string, Set<string>>();
  let activeMs = 0;
  // Every plan carried out, and no node's plan changed for longer than the node agents' 10 s plan check: no re-run is due.
  let doneSince = 0;
  let seen = '';
  try {
    const shown = await eventually(`${name} active with every plan carried out`, async () => {
      const c = JSON.parse(await drover.cli('clusters', 'get', name, '-o', 'json')) as Shown;
      const view = c.provisioning?.nodes ?? [];
      for (const n of view) if (n.progress.planId) plans.set(n.name, (plans.get(n.name) ?? new Set()).add(n.progress.planId));
      if (c.state === 'active' && activeMs === 0) activeMs = Date.now() - started;
      const done = view.length === count && view.every((n) => n.progress.steps.length === n.progress.total && n.progress.steps.every((s) => s.state === 'done'));
      const now = JSON.stringify(view.map((n) => n.progress));
      if (!done || now !== seen) doneSince = done ? Date.now() : 0;
      seen = now;
      return activeMs > 0 && doneSince > 0 && Date.now() - doneSince > 15_000 ? view : undefined;
    }, 900_000);
    const allDoneMs = doneSince - started;
    const perNode = shown.map((n) => {
      // Steps run one after another: each took from the previous step's end to its own (the first, from the create).
      let previous = started;
      const steps = n.progress.steps.map((s) => {
        const end = Date.parse(s.at);
        const ms = end - previous;
        previous = end;
        return { step: s.step, ms };
      });
      return { name: n.name, planRuns: plans.get(n.name)?.size ?? 1, steps };
    }).sort((a, b) => a.name.localeCompare(b.name));
    await then(name, dir);
    return { nodes: count, activeMs, allDoneMs, perNode };
  } finally {
    await stopNodeAgents(nodes);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface UpgradeShown { from: string; to: string; nodes: Array<{ name: string; startedAt?: string; doneAt?: string; steps?: Array<{ step: string; seconds: number }> }> }

/** Upgrades cluster `name` to `to` under a kubectl loop through the proxy: the time, node by node and step by step. */
async function measureUpgrade(drover: Drover, name: string, kubeconfig: string, to: string): Promise<{ lines: string[]; figures: Record<string, unknown> }> {
  await drover.cli('kubeconfig', name, '--file', kubeconfig);
  await kubectlOk(['config', 'use-context', name], { kubeconfig });
  const loop = startRequestLoop(kubeconfig);
  const started = Date.now();
  const ended = await drover.cli('clusters', 'upgrade', name, '--kubernetes-version', to, '-o', 'json').then((out) => ({ out }), (error: unknown) => ({ error }));
  const totalMs = Date.now() - started;
  // However the upgrade ended, the loop stops (it would keep the bench running).
  const seen = await loop.stop();
  if ('error' in ended) throw ended.error;
  const upgrade = JSON.parse(ended.out) as UpgradeShown;
  const nodeSeconds = (n: UpgradeShown['nodes'][number]): number => (n.startedAt && n.doneAt ? (Date.parse(n.doneAt) - Date.parse(n.startedAt)) / 1000 : Number.NaN);
  const stepSeconds = (n: UpgradeShown['nodes'][number]): number => (n.steps ?? []).reduce((sum, s) => sum + s.seconds, 0);
  return {
    lines: [
      `Upgrade ${upgrade.from} -> ${upgrade.to} of that cluster: ${(totalMs / 1000).toFixed(1)} s from \`clusters upgrade\` to done; a kubectl loop through the proxy meanwhile: `
        + `${seen.requests} requests, ${seen.failures} failed, longest failure window ${(seen.longestFailureMs / 1000).toFixed(1)} s`,
      '',
      '| node | step | seconds |', '| --- | --- | --- |',
      ...upgrade.nodes.flatMap((n) => [
        ...(n.steps ?? []).map((s) => `| ${n.name} | ${s.step} | ${s.seconds.toFixed(1)} |`),
        `| ${n.name} | the server's own health check, after the node's report | ${(nodeSeconds(n) - stepSeconds(n)).toFixed(1)} |`,
        `| ${n.name} | whole node (new plan to healthy, as the server saw it) | ${nodeSeconds(n).toFixed(1)} |`,
      ]),
    ],
    figures: { from: upgrade.from, to: upgrade.to, totalMs, loop: seen, nodes: upgrade.nodes },
  };
}
