/** The cluster registry (routes in src/clusters/clusters-api.ts). */
import { Type, type Static } from 'typebox';

export const Cluster = Type.Object({
  id: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('provisioning'), Type.Literal('active'), Type.Literal('unavailable')]),
  stateReason: Type.String(),
  kubernetesVersion: Type.Optional(Type.String()),
  nodeCount: Type.Optional(Type.Integer()),
  capacity: Type.Optional(Type.Object({ cpu: Type.String(), memory: Type.String(), pods: Type.String() })),
  tunnel: Type.Optional(Type.Union([Type.Literal('cluster'), Type.Literal('node')])),
  lastSeenAt: Type.Optional(Type.String()),
  apiServer: Type.Optional(Type.String({ description: 'kube-apiserver host:port, pinned at first registration' })),
  apiServerCaSha256: Type.Optional(Type.String({ description: 'SHA-256 fingerprints of the pinned kube-apiserver CA' })),
  agentAccount: Type.Optional(Type.String({ description: 'The pinned account of the agent\'s credential' })),
  apiServerConflict: Type.Optional(Type.Object({
    apiServer: Type.String(), caSha256: Type.String(), account: Type.Optional(Type.String()),
    differences: Type.Array(Type.String()), reportedAt: Type.String(),
    digest: Type.String({ description: 'What accept-apiserver confirms' }),
  }, { description: 'The last agent report that differed from the pin; its session was refused' })),
  createdAt: Type.String(),
});
export type Cluster = Static<typeof Cluster>;

export const Registration = Type.Object({
  token: Type.String({ description: 'The registration token; treat it as a secret' }),
  caChecksum: Type.String({ description: 'Hex SHA-256 of /cacerts, for --ca-checksum' }),
  agentCommand: Type.String(),
  manifestUrl: Type.String(),
  kubectlCommand: Type.String(),
});
export type Registration = Static<typeof Registration>;

export const CreatedCluster = Type.Object({ cluster: Cluster, registration: Registration });
export type CreatedCluster = Static<typeof CreatedCluster>;

/** A recent Warning event in the cluster. */
export const ClusterWarning = Type.Object({
  reason: Type.String(), message: Type.String(), object: Type.String(), count: Type.Integer(), lastSeen: Type.String(),
});
export type ClusterWarning = Static<typeof ClusterWarning>;
