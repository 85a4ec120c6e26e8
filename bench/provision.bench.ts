/**
 * Time to provision a 1-node cluster (every role) with real processes, broken down
 * by step as the node agent reported it: from `clusters create --custom` to the
 * cluster Active through the node agent's tunnel. Each run starts from an empty
 * data dir, so `binaries` includes downloading and checking about 250 MB.
 * The cluster is provisioned at the test build's earlier version, then upgraded to
 * the current one (`clusters upgrade`) while a kubectl loop runs through the proxy:
 * the upgrade's time node by node and step by step, and the longest failure window.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext, BenchResult } from './bench.ts';
import { startDrover, type Drover } from '../test/testenv/drover.ts';
import { provisioningBinaries, provisioningVersions } from '../test/testenv/binaries.ts';
import { startNodeAgent } from '../test/testenv/node-agents.ts';
import { eventually } from '../test/testenv/wait.ts';
import { kubectlOk } from '../test/testenv/index.ts';
import { startRequestLoop } from '../test/testenv/request-loop.ts';

interface Step { step: string; state: string; at: string }
interface Shown { state: string; createdAt: string; provisioning?: { nodes: Array<{ progress: { steps: Step[] } }> } }

export default async function bench(ctx: BenchContext): Promise<BenchResult> {
  const binaries = await provisioningBinaries(ctx.progress);
  const versions = await provisioningVersions(ctx.progress);
  const version = versions.previous;
  const drover = await startDrover({ serverArgs: ['--kubernetes-binaries', binaries] });
  const dir = mkdtempSync(join(tmpdir(), 'drover-bench-provision-'));
  try {
    const started = Date.now();
    const created = JSON.parse(await drover.cli('clusters', 'create', 'bench', '--custom', '--kubernetes-version', version, '-o', 'json')) as { registration: { nodeCommand: string } };
    const node = startNodeAgent(created.registration.nodeCommand, { dataDir: join(dir, 'n1'), nodeName: 'n1' });
    try {
      const shown = await eventually('the cluster to be active', async () => {
        const c = JSON.parse(await drover.cli('clusters', 'get', 'bench', '-o', 'json')) as Shown;
        return c.state === 'active' ? c : undefined;
      }, 600_000);
      const totalMs = Date.now() - started;
      const steps = shown.provisioning?.nodes[0]?.progress.steps ?? [];
      // Steps run one after another: each took from the previous step's end to its own.
      let previous = Date.parse(shown.createdAt);
      const perStep = steps.map((s) => {
        const end = Date.parse(s.at);
        const ms = end - previous;
        previous = end;
        return { step: s.step, ms };
      });
      const tunnelMs = totalMs - (previous - started);
      const lines = [
        `1-node cluster (etcd, controlplane, worker), Kubernetes ${version}: ${(totalMs / 1000).toFixed(1)} s from create to Active`,
        '',
        '| step | seconds |', '| --- | --- |',
        ...perStep.map((s) => `| ${s.step === 'plan' ? 'node agent start, register, plan' : s.step} | ${(s.ms / 1000).toFixed(1)} |`),
        `| tunnel up, agent account, cluster Active | ${(tunnelMs / 1000).toFixed(1)} |`,
      ];
      const upgrade = await measureUpgrade(drover, join(dir, 'bench.kubeconfig'), versions.current);
      return { summary: [...lines, '', ...upgrade.lines].join('\n'), figures: { version, totalMs, perStep, tunnelMs, upgrade: upgrade.figures } };
    } finally {
      await node.stop('SIGTERM');
      node.killProcesses();
    }
  } finally {
    await drover.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface UpgradeShown { from: string; to: string; nodes: Array<{ name: string; startedAt?: string; doneAt?: string; steps?: Array<{ step: string; seconds: number }> }> }

/** Upgrades the bench cluster to `to` under a kubectl loop through the proxy: the time, node by node and step by step. */
async function measureUpgrade(drover: Drover, kubeconfig: string, to: string): Promise<{ lines: string[]; figures: Record<string, unknown> }> {
  await drover.cli('kubeconfig', 'bench', '--file', kubeconfig);
  await kubectlOk(['config', 'use-context', 'bench'], { kubeconfig });
  const loop = startRequestLoop(kubeconfig);
  const started = Date.now();
  const ended = await drover.cli('clusters', 'upgrade', 'bench', '--kubernetes-version', to, '-o', 'json').then((out) => ({ out }), (error: unknown) => ({ error }));
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
