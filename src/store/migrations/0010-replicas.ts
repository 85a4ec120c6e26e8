/**
 * Replicas (issue #19): every `drover server` process writes a heartbeat row
 * (`replicas`) with the address its peers reach it at, and one row per cluster
 * it holds agent sessions for (`cluster_tunnels`), renewed with the heartbeat
 * and removed when its last session for that cluster ends. Rows whose heartbeat
 * is old belong to a dead replica; nothing deletes them but the next start of
 * the same id or a live replica's clean-up. The peer CA (key encrypted) lives in
 * `secrets` as `replica-peer-ca`, so it needs no table here.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const replicasMigration: Migration = {
  name: '0010-replicas',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('replicas')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      // Milliseconds since the epoch: compared as numbers, the same on SQLite and PostgreSQL.
      .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createTable('cluster_tunnels')
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('replica_id', 'text', (c) => c.notNull())
      .addColumn('sessions', 'integer', (c) => c.notNull())
      .addColumn('renewed_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('cluster_tunnels_pk', ['cluster_id', 'replica_id'])
      .execute();
  },
};
