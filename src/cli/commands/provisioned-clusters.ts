/**
 * The provisioned-cluster parts of `drover clusters`: `create --custom` (prints the
 * node command) and the node table `get` adds for a cluster Drover provisions.
 */
import type { DroverClient } from '../client/index.ts';
import { InvalidArgumentError } from '../../errors/index.ts';

export interface NodeView {
  name: string; roles: string[]; address: string; apiServerPort?: number; updatedAt: string;
  progress: { planId?: string; steps: Array<{ step: string; state: string; message?: string; at: string }> };
}
export interface NodesView { provisioned: boolean; kubernetesVersion?: string; nodes: NodeView[] }
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
