/** Clusters: registration, how to reach each one, and the status its controller reports (issue 4). */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const clustersMigration: Migration = {
  name: '0002-clusters',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('clusters')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('state_reason', 'text', (c) => c.notNull())
      .addColumn('registration_digest', 'text', (c) => c.notNull().unique())
      .addColumn('registration_expires_at', 'text')
      .addColumn('previous_digest', 'text')
      .addColumn('previous_valid_until', 'text')
      .addColumn('api_server', 'text')
      .addColumn('ca_pem', 'text')
      .addColumn('kubernetes_version', 'text')
      .addColumn('node_count', 'integer')
      .addColumn('capacity', 'text')
      .addColumn('tunnel', 'text')
      .addColumn('last_seen_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('clusters_previous_digest').on('clusters').column('previous_digest').execute();
  },
};
