/**
 * A cluster's kube-apiserver identity is pinned at first registration (issue 18):
 * `api_server` and `ca_pem` (0002) become the pinned address and CA, `api_account`
 * the account the agent's credential authenticates as, and `apiserver_conflict` the
 * last report that differed (JSON), kept until an admin accepts it or it is resolved.
 * Rows registered before this keep their address and CA as the pin; their account is
 * pinned at the next registration.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const clusterApiServerPinMigration: Migration = {
  name: '0008-cluster-apiserver-pin',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('clusters').addColumn('api_account', 'text').execute();
    await db.schema.alterTable('clusters').addColumn('apiserver_conflict', 'text').execute();
  },
};
