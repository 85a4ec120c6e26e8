/**
 * What every replica must see (docs/ha.md), moved from a replica's data dir or memory
 * into the database: a cluster's control-plane nodes (`clusters.control_planes`, for the
 * kubeconfig's per-node contexts), the bytes of etcd snapshots (`etcd_snapshot_chunks`, 1 MiB a row, so a
 * download streams one row at a time and no statement carries a whole snapshot), and
 * exec/attach recordings (`session_recordings`: the asciicast header and what the
 * listing filters on; `session_recording_chunks`: the event lines, appended as the
 * session runs). `bytea` is PostgreSQL's binary type; SQLite stores the Buffer as a
 * BLOB whatever the column's declared type.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const sharedFilesMigration: Migration = {
  name: '0015-shared-files',
  async up(db: Kysely<unknown>): Promise<void> {
    // The cluster's control-plane nodes as its owner last saw them (JSON `[{name, address}]`): kubeconfig contexts on any replica.
    await db.schema.alterTable('clusters').addColumn('control_planes', 'text').execute();
    await db.schema.createTable('etcd_snapshot_chunks')
      .addColumn('snapshot_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('data', 'bytea', (c) => c.notNull())
      .addPrimaryKeyConstraint('etcd_snapshot_chunks_pk', ['snapshot_id', 'seq'])
      .execute();
    await db.schema.createTable('session_recordings')
      .addColumn('audit_id', 'text', (c) => c.primaryKey())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('header', 'text', (c) => c.notNull())
      // Milliseconds since the epoch of the last write: retention is judged by it, so an open session is kept.
      .addColumn('written_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('session_recordings_written_at').on('session_recordings').column('written_at').execute();
    await db.schema.createTable('session_recording_chunks')
      .addColumn('audit_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('session_recording_chunks_pk', ['audit_id', 'seq'])
      .execute();
  },
};
