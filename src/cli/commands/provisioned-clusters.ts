/**
 * The provisioned-cluster parts of `drover clusters`: `create --custom` (prints the
 * node command), the node table `get` adds for a cluster Drover provisions, and
 * `snapshots create|list`.
 */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient, type DroverClient } from '../client/index.ts';
import { printItems, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import { InvalidArgumentError } from '../../errors/index.ts';

export interface NodeView {
  name: string; roles: string[]; address: string; apiServerPort?: number; updatedAt: string;
  progress: { planId?: string; steps: Array<{ step: string; state: string; message?: string; at: string }> };
}
export interface NodesView { provisioned: boolean; kubernetesVersion?: string; nodes: NodeView[]; registration?: CustomRegistration }
export interface CustomRegistration { token: string; caChecksum: string; nodeCommand: string }

export async function createCustom<C>(client: DroverClient, name: string, kubernetesVersion: string | undefined): Promise<{ cluster: C; registration: CustomRegistration }> {
  if (!kubernetesVersion) throw new InvalidArgumentError('--kubernetes-version', 'the Kubernetes version to provision, e.g. v1.36.3 (one the server has binaries for)');
  return client.request('POST', '/v1/provisioning/clusters', { name, kubernetesVersion });
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
export async function nodesOf(client: DroverClient, path: string): Promise<NodesView | undefined> {
  const view = await client.request<NodesView>('GET', `${path}/nodes`).catch(() => undefined);
  return view?.provisioned ? view : undefined;
}

/** One block per node: its roles, address, then each step with its state (a failed step with its reason). */
export function nodesText(view: NodesView): string {
  const lines = [`Provisioned by Drover at Kubernetes ${view.kubernetesVersion ?? '?'}; nodes:`];
  if (view.nodes.length === 0) lines.push('  (none registered yet: run the node command on a machine)');
  for (const node of view.nodes) {
    lines.push(`  ${node.name} [${node.roles.join(',')}] ${node.address}${node.apiServerPort ? ` kube-apiserver :${node.apiServerPort}` : ''}`);
    for (const s of node.progress.steps) lines.push(`    ${s.state.padEnd(7)} ${s.step}${s.message ? `: ${s.message}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

interface SnapshotView { id: string; node: string; size: number; sha256: string; createdAt: string }

const snapshotView: ItemView<SnapshotView> = {
  columns: [
    { header: 'id', cell: (s) => s.id }, { header: 'created', cell: (s) => s.createdAt }, { header: 'node', cell: (s) => s.node },
    { header: 'bytes', cell: (s) => String(s.size) }, { header: 'sha256', cell: (s) => s.sha256 },
  ],
  name: (s) => s.id,
};

/** `drover clusters snapshots create|list NAME`: etcd snapshots of a provisioned cluster, kept by the server. */
export function snapshotsCommand(deps: CliDeps): Command {
  const path = (name: string): string => `/v1/clusters/${encodeURIComponent(name)}/snapshots`;
  const snapshots = new Command('snapshots').description('etcd snapshots of a provisioned cluster, taken through etcd\'s snapshot API and kept by the server (admins)');
  snapshots.addCommand(withOutputFlags(new Command('create'))
    .description('take a snapshot now (checksummed; at most 256 MiB)')
    .argument('<name>', 'cluster name or id')
    .action(async (name: string, opts: OutputFlags) => {
      const snapshot = await withClient(deps, (client) => client.request<SnapshotView>('POST', path(name)));
      printItems(deps, opts, snapshot, [snapshot], snapshotView);
    }));
  snapshots.addCommand(withOutputFlags(new Command('list'))
    .description('the snapshots the server keeps, oldest first')
    .argument('<name>', 'cluster name or id')
    .action(async (name: string, opts: OutputFlags) => {
      const list = await withClient(deps, (client) => client.request<SnapshotView[]>('GET', path(name)));
      printItems(deps, opts, list, list, snapshotView);
    }));
  return snapshots;
}
