/** Authorized cluster endpoint settings per cluster (issue 7). */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const aceMigration: Migration = {
  name: '0004-ace',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('cluster_ace')
      .addColumn('cluster_id', 'text', (c) => c.primaryKey())
      .addColumn('mode', 'text', (c) => c.notNull())
      .addColumn('fqdn', 'text')
      .addColumn('ca_pem', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
};
