/**
 * clusters/: the cluster registry, registration tokens and import manifests, the
 * agents' tunnel endpoint, and one controller per connected cluster.
 *
 * Trusts: a registration token to name the one cluster an agent serves (never
 * anything the agent says about itself). Refuses: unknown, rotated-out or expired
 * tokens before the WebSocket upgrade; an agent's report that is not a valid
 * address, CA and token, or that differs from the kube-apiserver identity pinned at
 * the cluster's first registration (until an admin accepts it). Fails closed: a
 * session is used only once admitted; a cluster with no admitted session, or whose
 * apiserver fails its health probe, is Unavailable, and the proxy gets no upstream.
 */
import type { ChangePublisher } from '../coordination/index.ts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Identity } from '../identity/index.ts';
import type { Database, SecretBox } from '../store/index.ts';
import type { Logger } from '../logging/index.ts';
import { TunnelServer } from '../tunnel/index.ts';
import { tunnelConnectPath } from '../agent-protocol/index.ts';
import { ClusterService } from './cluster-service.ts';
import { ClusterControllers, type ClusterControllersOptions, type ClusterOwnership } from './cluster-controller.ts';
import { clustersApi, dismissAgents, type ClusterVisibility, type ClustersApiOptions } from './clusters-api.ts';

export { ClusterService, type Cluster, type ClusterAccess, type ClusterState } from './cluster-service.ts';
export { ClusterControllers, localOwnership, type ClusterLiveness, type ClusterOwnership, type GoneReason, type LiveCluster } from './cluster-controller.ts';
export { importManifest } from './import-manifest.ts';

export interface ClustersFeatureOptions {
  db: Kysely<Database>;
  secrets: SecretBox;
  identity: Identity;
  logger: Logger;
  publicUrl: string;
  caPem: string;
  agentImage: string;
  /** Who sees which cluster (access/); without it only admins see clusters. */
  membership?: ClusterVisibility;
  /** Where kube-api-auth listens for a cluster whose authorized endpoint is on (kube-api-auth/); undefined: off. */
  kubeApiAuth?: ClustersApiOptions['kubeApiAuth'];
  /** How long a cluster stays Active after its last tunnel drops. */
  graceMs?: number;
  /** Which replica runs which cluster's controller work (default: this server, for every cluster it has a session for). */
  ownership?: ClusterOwnership;
  /** Tunnel keepalive; a silently dead agent is noticed within interval + timeout. */
  keepaliveIntervalMs?: number;
  deadPeerTimeoutMs?: number;
  /** Where cluster deletes and accepted kube-apiservers are published for other replicas (the change feed). */
  changes?: ChangePublisher;
  /** See ClusterControllersOptions.provisionedCa. */
  provisionedCa?: ClusterControllersOptions['provisionedCa'];
  /** See ClustersApiOptions.onDelete. */
  onDelete?: (clusterId: string, toldNodes: string[]) => Promise<string>;
}

export interface ClustersFeature {
  service: ClusterService;
  tunnel: TunnelServer;
  controllers: ClusterControllers;
  apiPlugins: FastifyPluginAsyncTypebox[];
  upgrade: { prefix: string; handler: TunnelServer['handleUpgrade'] };
  /** Tells this replica's agents of a cluster deleted elsewhere (another replica, the change feed says) to exit; how many heard it. */
  dismissAgents(clusterId: string): Promise<number>;
  close(): Promise<void>;
}

export function createClustersFeature(options: ClustersFeatureOptions): ClustersFeature {
  const logger = options.logger.child({ component: 'clusters' });
  const service = new ClusterService({ db: options.db, secrets: options.secrets, ...(options.changes ? { changes: options.changes } : {}) });
  // The controllers admit sessions; they are made right after the tunnel, before any agent can connect.
  const tunnel: TunnelServer = new TunnelServer({
    authenticate: (req) => service.authenticateAgent(req),
    admit: (session) => controllers.admit(session),
    logger: options.logger.child({ component: 'tunnel' }),
    ...(options.keepaliveIntervalMs ? { keepaliveIntervalMs: options.keepaliveIntervalMs } : {}),
    ...(options.deadPeerTimeoutMs ? { deadPeerTimeoutMs: options.deadPeerTimeoutMs } : {}),
  });
  const controllers = new ClusterControllers({
    service, tunnel, logger, ...(options.graceMs ? { graceMs: options.graceMs } : {}), ...(options.ownership ? { ownership: options.ownership } : {}),
    ...(options.provisionedCa ? { provisionedCa: options.provisionedCa } : {}),
  });
  controllers.start();
  return {
    service, tunnel, controllers,
    apiPlugins: clustersApi({
      service, controllers, tunnel, authenticator: options.identity.authenticator, publicUrl: options.publicUrl,
      caPem: options.caPem, agentImage: options.agentImage, logger, ...(options.membership ? { membership: options.membership } : {}),
      ...(options.onDelete ? { onDelete: options.onDelete } : {}),
      ...(options.kubeApiAuth ? { kubeApiAuth: options.kubeApiAuth } : {}),
    }),
    upgrade: { prefix: tunnelConnectPath, handler: (req, socket, head) => tunnel.handleUpgrade(req, socket, head) },
    dismissAgents: (clusterId) => dismissAgents(tunnel.sessionsOf(clusterId), clusterId, logger),
    close: async () => {
      await controllers.close();
      // Graceful close waits for open streams (a watch may never end): bound it.
      const closed = tunnel.close().then(() => true);
      const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000).unref());
      if (!(await Promise.race([closed, timedOut]))) tunnel.destroy();
    },
  };
}
