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
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext, BenchResult } from './bench.ts';
import { startDrover, type Drover } from '../test/testenv/drover.ts';
import { provisioningBinaries } from '../test/testenv/binaries.ts';
import { startNodeAgent, stopNodeAgents } from '../test/testenv/node-agents.ts';
import { eventually } from '../test/testenv/wait.ts';

interface Step { step: string; state: string; at: string }
interface NodeView { name: string; progress: { planId?: string; total?: number; steps: Step[] } }
interface Shown { state: string; createdAt: string; provisioning?: { nodes: NodeView[] } }
interface Run { nodes: number; activeMs: number; allDoneMs: number; perNode: Array<{ name: string; planRuns: number; steps: Array<{ step: string; ms: number }> }> }

export default async function bench(ctx: BenchContext): Promise<BenchResult> {
  const binaries = await provisioningBinaries(ctx.progress);
  const version = readdirSync(binaries)[0] ?? '';
  const drover = await startDrover({ serverArgs: ['--kubernetes-binaries', binaries] });
  try {
    const runs: Run[] = [];
    for (const count of [1, 3]) {
      ctx.progress(`provisioning a ${count}-node cluster`);
      runs.push(await provision(drover, version, count));
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
    return { summary: lines.join('\n'), figures: { version, runs } };
  } finally {
    await drover.stop();
  }
}

async function provision(drover: Drover, version: string, count: number): Promise<Run> {
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
    return { nodes: count, activeMs, allDoneMs, perNode };
  } finally {
    await stopNodeAgents(nodes);
    rmSync(dir, { recursive: true, force: true });
  }
}
