/**
 * Kubernetes upgrades of provisioned clusters (issue 24): `upgrade` is the cluster's
 * last upgrade (JSON ClusterUpgrade of src/provisioning/upgrade-plan.ts: from, to,
 * each node in order with its state), null when none was asked for. Nodes the
 * upgrade reached plan at `to`, the others at `kubernetes_version`, which becomes
 * `to` once every node is done.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const clusterUpgradeMigration: Migration = {
  name: '0016-cluster-upgrade',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('provisioned_clusters').addColumn('upgrade', 'text').execute();
  },
};
