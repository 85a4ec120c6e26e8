/**
 * Multi-node etcd of provisioned clusters (issue 24): `etcd_seed` names the one etcd
 * node that starts a new etcd cluster; every other etcd node joins it (etcd's
 * MemberAdd). Set once, by a compare-and-set, so two nodes asking for their first
 * plan at the same moment can never both start a cluster of their own. A node's
 * `seen_at` is when its agent last asked for its plan or reported (every 10 s while
 * it runs), so `clusters get` names a node that went silent.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const etcdSeedMigration: Migration = {
  name: '0017-etcd-seed',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('provisioned_clusters').addColumn('etcd_seed', 'text').execute();
    await db.schema.alterTable('provisioned_nodes').addColumn('seen_at', 'text').execute();
  },
};
