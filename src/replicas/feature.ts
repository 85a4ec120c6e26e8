/** Puts replica presence, the peer relay and `/v1/replicas` together from what the server has. */
import type { IncomingMessage } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import type { Logger } from '../logging/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';
import { ReplicaPresence } from './presence.ts';
import { PeerRelay } from './relay.ts';
import { replicasApi } from './replicas-api.ts';
import { clusterOfRequest } from './cluster-of.ts';
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
  /** Heartbeat interval (ms; default 2 s); a replica is dead after 3.5 of them. */
  heartbeatMs?: number;
}

export interface ReplicasFeature {
  presence: ReplicaPresence;
  relay: PeerRelay;
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
  const relay = new PeerRelay({
    selfId: options.id, peer: options.peer, logger, clusterOf,
    servesLocally: (clusterId) => options.servesLocally(clusterId), holdersOf: (clusterId) => presence.holdersOf(clusterId),
    heldWithin: (clusterId, ms) => presence.heldWithin(clusterId, ms), refresh: () => presence.refresh(),
  });
  return {
    presence, relay,
    apiPlugins: [replicasApi({ presence, authenticator: options.authenticator })],
    start: async (address) => {
      await presence.start(address);
      logger.info({ address }, 'replica heartbeat started');
    },
    close: async () => {
      relay.close();
      await presence.close();
    },
  };
}
