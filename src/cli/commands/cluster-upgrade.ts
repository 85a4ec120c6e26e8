/**
 * `drover clusters upgrade NAME --kubernetes-version V`: asks the server for the
 * upgrade (refused up front: an unknown version, a downgrade, an imported cluster,
 * one that is not active), then follows it node by node until it is done or the
 * first node fails. The server drives it, so leaving the command does not stop it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient, type DroverClient } from '../client/index.ts';
import { printText, withOutputFlags, type OutputFlags } from '../output.ts';
import { DroverError, InvalidArgumentError } from '../../errors/index.ts';
import { DURATION_HINT, durationOption } from '../../durations/index.ts';
import type { ClusterUpgrade as UpgradeView } from '../../api-types/index.ts';

const clusterPath = (name: string): string => `/v1/clusters/${encodeURIComponent(name)}`;

/** One line per node: where it is in the upgrade, and its step times once done. */
export function upgradeText(upgrade: UpgradeView): string {
  const head = `Upgrade ${upgrade.from} -> ${upgrade.to}: ${upgrade.state}${upgrade.failure ? ` (${upgrade.failure})` : ''}, started ${upgrade.startedAt}${upgrade.finishedAt ? `, ended ${upgrade.finishedAt}` : ''}`;
  return `${[head, ...upgrade.nodes.map(nodeLine)].join('\n')}\n`;
}

function nodeLine(n: UpgradeView['nodes'][number]): string {
  const took = n.startedAt && n.doneAt ? ` in ${((Date.parse(n.doneAt) - Date.parse(n.startedAt)) / 1000).toFixed(1)} s` : '';
  const steps = n.steps?.length ? ` [${n.steps.map((s) => `${s.step} ${s.seconds.toFixed(1)} s`).join(', ')}]` : '';
  return `  ${n.state.padEnd(9)} ${n.name} [${n.roles.join(',')}]${took}${n.message ? `: ${n.message}` : ''}${steps}`;
}

export function upgradeCommand(deps: CliDeps): Command {
  return withOutputFlags(new Command('upgrade'))
    .description('upgrade a provisioned cluster\'s Kubernetes, node by node: etcd nodes, then control-plane nodes, then workers, each health-checked before the next (admins)')
    .argument('<name>', 'cluster name or id')
    .option('--kubernetes-version <version>', 'the version to upgrade to (newer than the cluster\'s, one the server has binaries for)')
    .option('--timeout <duration>', `how long to follow the upgrade, ${DURATION_HINT} (it goes on in the server afterwards)`, '30m')
    .action(async (name: string, opts: { kubernetesVersion?: string; timeout: string } & OutputFlags) => {
      if (!opts.kubernetesVersion) throw new InvalidArgumentError('--kubernetes-version', 'the version to upgrade to, e.g. v1.36.3 (one the server has binaries for)');
      const deadline = Date.now() + durationOption('--timeout', opts.timeout, { min: 1 }) * 1000;
      const upgrade = await withClient(deps, async (client) => {
        await client.request('POST', `${clusterPath(name)}/upgrade`, { kubernetesVersion: opts.kubernetesVersion });
        return follow(client, name, deadline);
      });
      printText(deps, opts, upgrade, [name], upgradeText(upgrade));
    });
}

async function follow(client: DroverClient, name: string, deadline: number): Promise<UpgradeView> {
  for (;;) {
    const { upgrade } = await client.request<{ upgrade?: UpgradeView }>('GET', `${clusterPath(name)}/nodes`);
    if (!upgrade) throw new DroverError('DRV_ERR_INTERNAL', `the server shows no upgrade of cluster "${name}" after accepting it: see the server log`);
    if (upgrade.state === 'failed') {
      throw new DroverError('DRV_ERR_PROVISIONING_FAILED', `the upgrade of cluster "${name}" to ${upgrade.to} stopped: ${upgrade.failure ?? 'no reason recorded'}. `
        + `Fix the cause, then run "drover clusters upgrade ${name} --kubernetes-version ${upgrade.to}" again to resume it at that node`);
    }
    if (upgrade.state === 'done') return upgrade;
    if (Date.now() > deadline) {
      const at = upgrade.nodes.find((n) => n.state === 'upgrading')?.name ?? 'the next node';
      throw new DroverError('DRV_ERR_GATEWAY_TIMEOUT', `the upgrade of cluster "${name}" to ${upgrade.to} is still running (at ${at}); it goes on in the server: "drover clusters get ${name}" shows it`);
    }
    await sleep(1_000);
  }
}
