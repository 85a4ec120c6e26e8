/**
 * Server settings an admin changes at run time, one row per named setting with
 * its value as JSON (`kubeconfig` first; later settings add rows, not tables).
 * No row means "the default": for kubeconfig, the DROVER_KUBECONFIG_* variables.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const settingsMigration: Migration = {
  name: '0007-settings',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('settings')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
};
