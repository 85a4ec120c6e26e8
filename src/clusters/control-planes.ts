/**
 * A cluster's control-plane nodes and the address each is reached at, as its owner
 * replica last saw them (recorded with its status), so the authorized-endpoint
 * contexts of a kubeconfig come from the database on any replica, not from a live
 * connection to the cluster (docs/ha.md).
 */
import type { Node } from '../kube/index.ts';

/** A control-plane node: its name and its ExternalIP, else InternalIP. */
export interface ControlPlaneNode { name: string; address: string }

const controlPlaneLabel = 'node-role.kubernetes.io/control-plane';

/** The control-plane nodes among `nodes` that have a name and an address, sorted by name. */
export function controlPlaneNodes(nodes: readonly Node[]): ControlPlaneNode[] {
  return nodes.flatMap((node) => {
    if (node.metadata.labels?.[controlPlaneLabel] === undefined) return [];
    const addresses = node.status?.addresses ?? [];
    const address = addresses.find((a) => a.type === 'ExternalIP')?.address ?? addresses.find((a) => a.type === 'InternalIP')?.address;
    const name = node.metadata.name ?? '';
    return address && name ? [{ name, address }] : [];
  }).sort((a, b) => a.name.localeCompare(b.name));
}
