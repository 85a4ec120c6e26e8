/**
 * coordination/: what several `drover server` replicas on one PostgreSQL need to act
 * as one server: the change feed (every replica's in-memory views follow every
 * replica's writes) and leases (a loop that must run once runs on one replica).
 * See README.md. On SQLite there is one process, and the local implementations keep
 * the code paths the same.
 */
export { LocalChangeFeed, type ChangeEvent, type ChangeFeed, type ChangePublisher, type ChangeTable, type ResyncReason } from './change-feed.ts';
export { CHANGE_CHANNEL, LISTENER_APPLICATION_NAME, PostgresChangeFeed, notifyChange, type PostgresChangeFeedOptions } from './postgres-change-feed.ts';
export { LocalLease, PostgresLease, type Lease, type PostgresLeaseOptions } from './lease.ts';
