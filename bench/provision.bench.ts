/**
 * Time to provision a 1-node cluster (every role) with real processes, broken down
 * by step as the node agent reported it: from `clusters create --custom` to the
 * cluster Active through the node agent's tunnel. Each run starts from an empty
 * data dir, so `binaries` includes downloading and checking about 250 MB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext, BenchResult } from './bench.ts';
import { startDrover } from '../test/testenv/drover.ts';
import { provisioningBinaries, provisioningVersions } from '../test/testenv/binaries.ts';
import { startNodeAgent } from '../test/testenv/node-agents.ts';
import { eventually } from '../test/testenv/wait.ts';

interface Step { step: string; state: string; at: string }
interface Shown { state: string; createdAt: string; provisioning?: { nodes: Array<{ progress: { steps: Step[] } }> } }

export default async function bench(ctx: BenchContext): Promise<BenchResult> {
  const binaries = await provisioningBinaries(ctx.progress);
  const version = (await provisioningVersions(ctx.progress)).current;
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
      return { summary: lines.join('\n'), figures: { version, totalMs, perStep, tunnelMs } };
    } finally {
      await node.stop('SIGTERM');
      node.killProcesses();
    }
  } finally {
    await drover.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
