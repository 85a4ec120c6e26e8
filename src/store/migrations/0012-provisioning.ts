/**
 * Provisioned ("custom") clusters (issue 24): which clusters Drover builds itself
 * and at which Kubernetes version, and the nodes that registered for them with
 * their roles, address, ports and last reported progress, and the etcd snapshots
 * the server keeps (files under its data dir; here their checksums). The cluster CA, the
 * service-account key and each node's planned files live encrypted in `secrets`.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const provisioningMigration: Migration = {
  name: '0012-provisioning',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('provisioned_clusters')
      .addColumn('cluster_id', 'text', (c) => c.primaryKey())
      .addColumn('kubernetes_version', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('provisioned_nodes')
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('node_id', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('ports', 'text', (c) => c.notNull())
      .addColumn('plan_digest', 'text')
      .addColumn('progress', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('provisioned_nodes_pk', ['cluster_id', 'name'])
      .execute();
    await db.schema.createTable('etcd_snapshots')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
};
