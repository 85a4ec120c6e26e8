/**
 * etcd snapshot restores and schedules of provisioned clusters (issue 24):
 * `restore` is the last restore an admin asked for (JSON: id, snapshot, checksum;
 * etcd nodes carry it out once per id), `snapshot_every_ms` and
 * `snapshot_retention` the cluster's schedule (null: none), and `scheduled` marks
 * the snapshots the schedule took (only those are pruned by retention).
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const snapshotRestoreScheduleMigration: Migration = {
  name: '0014-snapshot-restore-schedule',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('provisioned_clusters').addColumn('restore', 'text').execute();
    await db.schema.alterTable('provisioned_clusters').addColumn('snapshot_every_ms', 'integer').execute();
    await db.schema.alterTable('provisioned_clusters').addColumn('snapshot_retention', 'integer').execute();
    await db.schema.alterTable('etcd_snapshots').addColumn('scheduled', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
};
