/** External identity providers (issue 8): their settings, and which Drover user a provider's user principal belongs to. */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const providersMigration: Migration = {
  name: '0005-providers',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('auth_providers')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('access_mode', 'text', (c) => c.notNull())
      .addColumn('allowed_principals', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('config_digest', 'text', (c) => c.notNull())
      .addColumn('tested_digest', 'text')
      .addColumn('tested_at', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    // One row per external user principal: the only way a provider login finds its Drover user.
    await db.schema.createTable('user_principals')
      .addColumn('principal_id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('user_principals_user_id').on('user_principals').column('user_id').execute();
    await db.schema.createIndex('user_principals_provider').on('user_principals').column('provider').execute();
  },
};
