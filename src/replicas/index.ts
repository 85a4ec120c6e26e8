/**
 * replicas/: several `drover server` processes on one PostgreSQL acting as one
 * server. See README.md for the design note (presence, ownership, the peer relay
 * and what each trusts).
 */
export { createReplicasFeature, type ReplicasFeature, type ReplicasFeatureOptions } from './feature.ts';
export { ReplicaPresence, type ReplicaRecord, type TunnelHolder, type PresenceOptions } from './presence.ts';
export { PeerRelay, relayHeader, type RelayOptions } from './relay.ts';
export { loadPeerCredentials, replicaPeerOf, peerServerName, type PeerCredentials } from './peer-tls.ts';
export { newReplicaId, sessionsByCluster } from './replica-id.ts';
export { ReplicaView, ReplicaList } from './replicas-api.ts';
