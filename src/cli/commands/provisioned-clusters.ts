/**
 * The provisioned-cluster parts of `drover clusters`: `create --custom` (prints the
 * node command), the node table `get` adds for a cluster Drover provisions, and
 * `snapshots create|list|restore`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient, type DroverClient } from '../client/index.ts';
import { printItems, printText, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import { DroverError, InvalidArgumentError } from '../../errors/index.ts';
import { DURATION_HINT, durationOption, formatDuration } from '../../durations/index.ts';
import type { Cluster, CustomRegistration, EtcdSnapshot, ProvisionedNode, ProvisionedNodes, RestoreAsked } from '../../api-types/index.ts';
import { upgradeText } from './cluster-upgrade.ts';
import { nodeUnreachable } from '../../agent-protocol/index.ts';

const clusterPath = (name: string): string => `/v1/clusters/${encodeURIComponent(name)}`;


export async function createCustom<C>(client: DroverClient, name: string, kubernetesVersion: string | undefined, schedule?: ScheduleBody): Promise<{ cluster: C; registration: CustomRegistration }> {
  if (!kubernetesVersion) throw new InvalidArgumentError('--kubernetes-version', 'the Kubernetes version to provision, e.g. v1.36.3 (one the server has binaries for)');
  return client.request('POST', '/v1/provisioning/clusters', { name, kubernetesVersion, ...(schedule ? { snapshotSchedule: schedule } : {}) });
}

/** `--snapshot-schedule` and `--snapshot-retention`, on `create --custom` and `update`. */
export interface ScheduleFlags { snapshotSchedule?: string; snapshotRetention?: string }
interface ScheduleBody { everySeconds: number; retention?: number }

export function withScheduleFlags(command: Command): Command {
  return command
    .option('--snapshot-schedule <duration>', `provisioned clusters: take an etcd snapshot every ${DURATION_HINT.replace(/^a duration /, '')}, at least 10s; 0 or off turns it off (create --custom without it: every 12h, 5 kept)`)
    .option('--snapshot-retention <count>', 'provisioned clusters: how many scheduled snapshots are kept (default 5; snapshots an admin took are never pruned)');
}

/** The schedule the flags ask for, or undefined when neither flag is given. */
export function scheduleFromFlags(opts: ScheduleFlags): ScheduleBody | undefined {
  if (opts.snapshotSchedule === undefined) {
    if (opts.snapshotRetention !== undefined) throw new InvalidArgumentError('--snapshot-retention', 'to go with --snapshot-schedule');
    return undefined;
  }
  const everySeconds = opts.snapshotSchedule === 'off' ? 0 : durationOption('--snapshot-schedule', opts.snapshotSchedule);
  if (opts.snapshotRetention === undefined) return { everySeconds };
  const retention = Number(opts.snapshotRetention);
  if (!/^\d+$/.test(opts.snapshotRetention) || retention < 1) throw new InvalidArgumentError('--snapshot-retention', 'a whole number of snapshots, at least 1', opts.snapshotRetention);
  return { everySeconds, retention };
}

/** `clusters update NAME --snapshot-schedule ...`: what the server set, as a line. */
export async function setSchedule(client: DroverClient, name: string, schedule: ScheduleBody): Promise<{ snapshotSchedule: { everySeconds: number; retention: number } | null }> {
  return client.request('PUT', `${clusterPath(name)}/snapshot-schedule`, schedule);
}

export function scheduleText(schedule: { everySeconds: number; retention: number } | null | undefined): string {
  return schedule ? `etcd snapshots every ${formatDuration(schedule.everySeconds)}, the newest ${schedule.retention} scheduled ones kept` : 'no etcd snapshot schedule';
}

export function customRegistrationText(r: CustomRegistration): string {
  return [
    'Run the node agent on each machine (any subset of the roles etcd,controlplane,worker; at least one etcd and one controlplane node in all):',
    `  ${r.nodeCommand} [--node-name NAME] [--address IP]`,
    'The token in this command registers nodes for this cluster: keep it secret.',
    '',
  ].join('\n');
}

/** The cluster's nodes, or undefined for a cluster Drover did not provision (or a caller who may not see them). */
export async function nodesOf(client: DroverClient, path: string): Promise<ProvisionedNodes | undefined> {
  const view = await client.request<ProvisionedNodes>('GET', `${path}/nodes`).catch(() => undefined);
  return view?.provisioned ? view : undefined;
}

/** One block per node: its roles, address, then each step with its state (a failed step with its reason). */
export function nodesText(view: ProvisionedNodes): string {
  const lines = [`Provisioned by Drover at Kubernetes ${view.kubernetesVersion ?? '?'}; ${scheduleText(view.snapshotSchedule)}; nodes:`];
  if (view.nodes.length === 0) lines.push('  (none registered yet: run the node command on a machine)');
  if (view.upgrade) lines.push(upgradeText(view.upgrade).trimEnd());
  for (const node of view.nodes) {
    lines.push(`  ${node.name} [${node.roles.join(',')}] ${node.address}${node.apiServerPort ? ` kube-apiserver :${node.apiServerPort}` : ''}`);
    if (nodeUnreachable(node)) {
      lines.push(`    UNREACHABLE: no word from its node agent for ${node.silentSeconds} s (it asks every 10 s): the machine or its node agent is down, or cannot reach the server; its steps below are its last report`);
    }
    for (const s of node.progress.steps) lines.push(`    ${s.state.padEnd(7)} ${s.step}${s.message ? `: ${s.message}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}


const snapshotView: ItemView<EtcdSnapshot> = {
  columns: [
    { header: 'id', cell: (s) => s.id }, { header: 'created', cell: (s) => s.createdAt }, { header: 'node', cell: (s) => s.node },
    { header: 'bytes', cell: (s) => String(s.size) }, { header: 'sha256', cell: (s) => s.sha256 }, { header: 'by', cell: (s) => (s.scheduled ? 'schedule' : 'admin') },
  ],
  name: (s) => s.id,
};

/** `drover clusters snapshots create|list NAME`: etcd snapshots of a provisioned cluster, kept by the server. */
export function snapshotsCommand(deps: CliDeps): Command {
  const path = (name: string): string => `${clusterPath(name)}/snapshots`;
  const snapshots = new Command('snapshots').description('etcd snapshots of a provisioned cluster, taken through etcd\'s snapshot API and kept by the server (admins)');
  snapshots.addCommand(withOutputFlags(new Command('create'))
    .description('take a snapshot now (checksummed; at most 256 MiB)')
    .argument('<name>', 'cluster name or id')
    .action(async (name: string, opts: OutputFlags) => {
      const snapshot = await withClient(deps, (client) => client.request<EtcdSnapshot>('POST', path(name)));
      printItems(deps, opts, snapshot, [snapshot], snapshotView);
    }));
  snapshots.addCommand(withOutputFlags(new Command('list'))
    .description('the snapshots the server keeps, oldest first')
    .argument('<name>', 'cluster name or id')
    .action(async (name: string, opts: OutputFlags) => {
      const list = await withClient(deps, (client) => client.request<EtcdSnapshot[]>('GET', path(name)));
      printItems(deps, opts, list, list, snapshotView);
    }));
  snapshots.addCommand(withOutputFlags(new Command('restore'))
    .description('bring the cluster back to a snapshot: each etcd node restores it, then every node restarts its processes; waits until the cluster is active again')
    .argument('<name>', 'cluster name or id')
    .argument('<id>', 'snapshot id, as "snapshots list" shows it')
    .option('--timeout <duration>', `how long to wait for the nodes, ${DURATION_HINT}`, '10m')
    .action(async (name: string, id: string, opts: { timeout: string } & OutputFlags) => {
      const timeoutMs = durationOption('--timeout', opts.timeout, { min: 1 }) * 1000;
      const result = await withClient(deps, async (client) => {
        const before = new Map(((await nodesOf(client, clusterPath(name)))?.nodes ?? []).map((n) => [n.name, n.progress.planId]));
        const asked = await client.request<RestoreAsked>('POST', `${path(name)}/${encodeURIComponent(id)}/restore`);
        return { ...asked, ...(await waitForRestore(client, name, asked, before, Date.now() + timeoutMs)) };
      });
      printText(deps, opts, result, [result.restore.id],
        `Restored ${name} to snapshot ${id} (restore ${result.restore.id}, ${(result.tookMs / 1000).toFixed(1)} s); the cluster is active.\n${result.nodes.map((n) => `  ${n}\n`).join('')}`);
    }));
  return snapshots;
}

/**
 * Follows a restore through the nodes' progress: done when every node carries out
 * a plan other than the one it had before the request (etcd nodes with this
 * restore's `etcd-restore` step), all of its steps done, and the cluster is active
 * again; the first failed step of a new plan ends the wait with its node and reason.
 */
async function waitForRestore(client: DroverClient, name: string, asked: RestoreAsked, before: Map<string, string | undefined>, deadline: number): Promise<{ tookMs: number; nodes: string[] }> {
  const started = Date.now();
  const restoredHere = (n: ProvisionedNode): boolean => n.progress.steps.some((s) => s.step === 'etcd-restore' && s.state === 'done' && (s.message ?? '').includes(asked.restore.id));
  let waitingOn = 'the nodes to pick up the restore (they ask for their plan every 10 s)';
  for (;;) {
    const nodes = (await nodesOf(client, clusterPath(name)))?.nodes ?? [];
    const moved = nodes.filter((n) => n.progress.planId !== before.get(n.name));
    for (const node of moved) {
      const failed = node.progress.steps.find((s) => s.state === 'failed');
      if (failed) throw new DroverError('DRV_ERR_PROVISIONING_FAILED', `restore ${asked.restore.id}: node ${node.name}: step ${failed.step} failed: ${failed.message ?? 'no reason given'}`);
    }
    const finished = (n: ProvisionedNode): boolean => moved.includes(n) && n.progress.steps.length === n.progress.total && n.progress.steps.every((s) => s.state === 'done')
      && (!asked.etcdNodes.includes(n.name) || restoredHere(n));
    const pending = nodes.filter((n) => !finished(n));
    if (pending.length > 0) waitingOn = `nodes ${pending.map((n) => n.name).join(', ')}`;
    else {
      const cluster = await client.request<Cluster>('GET', clusterPath(name));
      if (cluster.state === 'active') {
        return { tookMs: Date.now() - started, nodes: nodes.map((n) => `${n.name}: ${n.progress.steps.find((s) => s.step === 'etcd-restore')?.message ?? 'processes restarted'}`) };
      }
      waitingOn = `the cluster to turn active (it is ${cluster.state}: ${cluster.stateReason})`;
    }
    if (Date.now() > deadline) {
      throw new DroverError('DRV_ERR_GATEWAY_TIMEOUT', `restore ${asked.restore.id} is still waiting for ${waitingOn}: "drover clusters get ${name}" shows each node's steps`);
    }
    await sleep(2_000);
  }
}
