/**
 * What redirect providers (GitHub, OIDC) remember about their users across
 * restarts and replicas: the last verified identity and, encrypted through the
 * SecretBox, the credential that lets Drover ask the provider again. Also the
 * pending configuration of an enabled provider (`auth_providers.pending`): it
 * serves nothing until a test login passed with it and `enable` promotes it.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const providerCredentialsMigration: Migration = {
  name: '0006-provider-credentials',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('provider_credentials')
      .addColumn('principal_id', 'text', (c) => c.primaryKey())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('identity', 'text', (c) => c.notNull())
      .addColumn('secret', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.alterTable('auth_providers').addColumn('pending', 'text').execute();
    await db.schema.createIndex('provider_credentials_provider').on('provider_credentials').columns(['provider', 'updated_at']).execute();
  },
};
