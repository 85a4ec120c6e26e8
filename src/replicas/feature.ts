/** Puts replica presence, the peer relay and `/v1/replicas` together from what the server has. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import type { Logger } from '../logging/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';
import type { LiveRoutes } from '../http/index.ts';
import { ReplicaPresence } from './presence.ts';
import { PeerRelay } from './relay.ts';
import { replicasApi } from './replicas-api.ts';
import { clusterOfRequest } from './cluster-of.ts';
import { consoleReplicaOf, restClusterOf } from './rest-relay.ts';
import type { PeerCredentials } from './peer-tls.ts';

export interface ReplicasFeatureOptions {
  id: string;
  version: string;
  peer: PeerCredentials;
  db: Kysely<Database>;
  authenticator: TokenAuthenticator;
  logger: Logger;
  /** Admitted local agent sessions per cluster, now. */
  localSessions(): Map<string, number>;
  /** Whether this replica answers for a cluster itself (live, with a session of its own). */
  servesLocally(clusterId: string): boolean;
  /** The REST routes that declared they need the cluster live (filled as Fastify registers them). */
  liveRoutes: Pick<LiveRoutes, 'match'>;
  /** The id of a cluster named by id or name (REST paths accept both); undefined when there is none. */
  clusterIdOf(idOrName: string): Promise<string | undefined>;
  /** Heartbeat interval (ms; default 2 s); a replica is dead after 3.5 of them. */
  heartbeatMs?: number;
}

export interface ReplicasFeature {
  presence: ReplicaPresence;
  relay: PeerRelay;
  /** The same relay for the REST calls that need the cluster live, and for a browser console's calls (`rest-relay.ts`); `local` answers the rest. */
  restRelay(req: IncomingMessage, res: ServerResponse, local: () => void): void;
  apiPlugins: FastifyPluginAsyncTypebox[];
  /** Starts beating once the listener is bound (the advertised port may be the one bound). */
  start(address: string): Promise<void>;
  close(): Promise<void>;
}

export function createReplicasFeature(options: ReplicasFeatureOptions): ReplicasFeature {
  const logger = options.logger.child({ component: 'replicas', replica: options.id });
  const presence = new ReplicaPresence({
    db: options.db, self: { id: options.id, version: options.version, startedAt: new Date().toISOString() },
    localSessions: () => options.localSessions(), logger,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
  });
  const clusterOf: (req: IncomingMessage) => Promise<string | undefined> | string | undefined = clusterOfRequest(options.authenticator);
  const holders = {
    holdersOf: (clusterId: string) => presence.holdersOf(clusterId),
    heldWithin: (clusterId: string, ms: number) => presence.heldWithin(clusterId, ms), refresh: () => presence.refresh(),
    refreshIfOlderThan: (ms: number) => presence.refreshIfOlderThan(ms),
  };
  const relay = new PeerRelay({
    selfId: options.id, peer: options.peer, logger, clusterOf, servesLocally: (clusterId) => options.servesLocally(clusterId), ...holders,
  });
  // REST: relayed only when this replica cannot answer (no session, or not the owner for owner-only routes);
  // while waiting for a holder, the owner is the one that can answer every such route.
  const restClusterId = restClusterOf({ liveRoutes: options.liveRoutes, clusterIdOf: (idOrName) => options.clusterIdOf(idOrName), servesLocally: (clusterId) => options.servesLocally(clusterId), owns: (clusterId) => presence.owns(clusterId) });
  const restRelay = new PeerRelay({
    selfId: options.id, peer: options.peer, logger, ...holders, servesLocally: (clusterId) => presence.owns(clusterId),
    clusterOf: async (req) => {
      const clusterId = await restClusterId(req);
      // No holder known yet (a session that came up since the last beat): read again once rather than answer
      // "not connected". REST calls are rare; the /k8s relay does not pay this.
      if (clusterId !== undefined && presence.holdersOf(clusterId).length === 0) await presence.refresh();
      return clusterId;
    },
  });
  // A browser kubectl console's calls go to the replica that holds it: this relay routes by
  // replica id (what the others route by cluster), the one its session id names.
  const consoleRelay = new PeerRelay({
    selfId: options.id, peer: options.peer, logger, ...holders,
    clusterOf: (req) => consoleReplicaOf(req.method, req.url),
    servesLocally: (replicaId) => replicaId === options.id,
    holdersOf: (replicaId) => presence.liveReplica(replicaId),
    // A console does not move: when its replica is gone, so is the console (the local route answers 404).
    heldWithin: () => false,
  });
  return {
    presence, relay,
    restRelay: (req, res, local) => (consoleReplicaOf(req.method, req.url) === undefined ? restRelay : consoleRelay).request(() => local())(req, res),
    apiPlugins: [replicasApi({ presence, authenticator: options.authenticator })],
    start: async (address) => {
      await presence.start(address);
      logger.info({ address }, 'replica heartbeat started');
    },
    close: async () => {
      relay.close();
      restRelay.close();
      consoleRelay.close();
      await presence.close();
    },
  };
}
