/** Clusters Drover provisions (routes in src/provisioning/provisioning-api.ts). */
import { Type, type Static } from 'typebox';
import { Cluster } from './clusters.ts';

/** How a machine joins a custom cluster: the parts, and the node command with every role. */
export const CustomRegistration = Type.Object({
  server: Type.String({ description: 'The Drover server URL the node agents reach' }),
  token: Type.String({ description: 'The registration token; treat it as a secret' }),
  caChecksum: Type.String({ description: 'Hex SHA-256 of /cacerts, for --ca-checksum' }),
  nodeCommand: Type.String({ description: 'The node command with every role; pick roles per machine' }),
});
export type CustomRegistration = Static<typeof CustomRegistration>;

export const CreatedCustomCluster = Type.Object({ cluster: Cluster, registration: CustomRegistration });
export type CreatedCustomCluster = Static<typeof CreatedCustomCluster>;

export const KubernetesVersions = Type.Object({ versions: Type.Array(Type.String(), { description: 'Versions the server has every binary for, newest last' }) });
export type KubernetesVersions = Static<typeof KubernetesVersions>;

export const SnapshotSchedule = Type.Object({ everySeconds: Type.Integer(), retention: Type.Integer() });
export type SnapshotSchedule = Static<typeof SnapshotSchedule>;

/** One step a node agent reported for its current plan. */
export const NodeStep = Type.Object({
  step: Type.String(), state: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  message: Type.Optional(Type.String({ description: 'A failed step\'s reason (with its log tail), or what a done step did' })), at: Type.String(),
});
export type NodeStep = Static<typeof NodeStep>;

export const ProvisionedNode = Type.Object({
  name: Type.String(), roles: Type.Array(Type.String()), address: Type.String(), apiServerPort: Type.Optional(Type.Integer()), updatedAt: Type.String(),
  silentSeconds: Type.Optional(Type.Integer({ description: 'Seconds since the node agent last asked for its plan (every 10 s); more than 30 means unreachable' })),
  progress: Type.Object({ planId: Type.Optional(Type.String()), total: Type.Optional(Type.Integer({ description: 'How many steps the plan has' })), steps: Type.Array(NodeStep) }),
});
export type ProvisionedNode = Static<typeof ProvisionedNode>;

/** A cluster's last upgrade (`clusters upgrade`; src/provisioning/upgrade-plan.ts keeps it), node by node. */
export const ClusterUpgrade = Type.Object({
  from: Type.String(), to: Type.String(),
  state: Type.Union([Type.Literal('running'), Type.Literal('failed'), Type.Literal('done')]),
  startedAt: Type.String(), finishedAt: Type.Optional(Type.String()),
  failure: Type.Optional(Type.String({ description: 'The first failure, with its node: the upgrade stops there until it is asked for again' })),
  nodes: Type.Array(Type.Object({
    name: Type.String(), roles: Type.Array(Type.String()),
    state: Type.Union([Type.Literal('waiting'), Type.Literal('upgrading'), Type.Literal('done'), Type.Literal('failed')]),
    startedAt: Type.Optional(Type.String()), doneAt: Type.Optional(Type.String()),
    message: Type.Optional(Type.String({ description: 'Why it failed; or, once done, what the server checked' })),
    steps: Type.Optional(Type.Array(Type.Object({ step: Type.String(), seconds: Type.Number() }), { description: 'Seconds per step of the node\'s new plan' })),
  })),
});
export type ClusterUpgrade = Static<typeof ClusterUpgrade>;

/** `GET /v1/clusters/:id/nodes`: a provisioned cluster's nodes and their progress, or `provisioned: false`. */
export const ProvisionedNodes = Type.Object({
  provisioned: Type.Boolean(), kubernetesVersion: Type.Optional(Type.String()), nodes: Type.Array(ProvisionedNode),
  registration: Type.Optional(CustomRegistration), snapshotSchedule: Type.Optional(SnapshotSchedule),
  upgrade: Type.Optional(ClusterUpgrade),
});
export type ProvisionedNodes = Static<typeof ProvisionedNodes>;

export const EtcdSnapshot = Type.Object({
  id: Type.String(), clusterId: Type.String(), node: Type.String({ description: 'The node whose etcd member it was taken from' }),
  size: Type.Integer(), sha256: Type.String(), createdAt: Type.String(), scheduled: Type.Boolean({ description: 'Taken by the schedule (pruned by its retention), not by an admin' }),
});
export type EtcdSnapshot = Static<typeof EtcdSnapshot>;

export const RestoreAsked = Type.Object({
  restore: Type.Object({ id: Type.String(), snapshotId: Type.String(), sha256: Type.String(), size: Type.Integer(), requestedAt: Type.String() }),
  etcdNodes: Type.Array(Type.String(), { description: 'The nodes that restore the snapshot into their etcd' }),
});
export type RestoreAsked = Static<typeof RestoreAsked>;
