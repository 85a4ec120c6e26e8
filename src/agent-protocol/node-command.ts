/**
 * The node command: how an admin starts a provisioned cluster's node agent on a
 * machine. One builder for the server (`clusters create --custom`, `clusters get
 * --registration`) and the web UI (its role checkboxes), so the command a user
 * copies from either is the same, word for word.
 */

/** A node's roles, in the order the command lists them. */
export const nodeRoleNames = ['etcd', 'controlplane', 'worker'] as const;
export type NodeRole = (typeof nodeRoleNames)[number];

/** What a machine needs to join: the server's URL, the cluster's registration token and the server CA's SHA-256. */
export interface NodeJoin { server: string; token: string; caChecksum: string }

/**
 * The command for a machine with `roles` (all three unless given; listed in
 * `nodeRoleNames` order whatever order they were picked in), with the optional
 * node name and address when given.
 */
export function nodeCommand(join: NodeJoin, roles: readonly NodeRole[] = nodeRoleNames, extra: { nodeName?: string; address?: string } = {}): string {
  const ordered = nodeRoleNames.filter((r) => roles.includes(r));
  return [
    `drover agent --mode node --roles ${ordered.join(',')} --server ${join.server} --token ${join.token} --ca-checksum ${join.caChecksum} --data-dir /var/lib/drover-node`,
    ...(extra.nodeName ? [`--node-name ${extra.nodeName}`] : []),
    ...(extra.address ? [`--address ${extra.address}`] : []),
  ].join(' ');
}
