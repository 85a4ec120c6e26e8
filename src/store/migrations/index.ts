/**
 * Every schema change, in order. Append a new file and one line to `migrations`;
 * never edit or reorder one that has shipped. Names sort in the order they run.
 */
import type { Kysely } from 'kysely';
import { identityMigration } from './0001-identity.ts';
import { clustersMigration } from './0002-clusters.ts';
import { accessMigration } from './0003-access.ts';
import { aceMigration } from './0004-ace.ts';
import { providersMigration } from './0005-providers.ts';
import { providerCredentialsMigration } from './0006-provider-credentials.ts';
import { settingsMigration } from './0007-settings.ts';
import { clusterApiServerPinMigration } from './0008-cluster-apiserver-pin.ts';
import { leasesMigration } from './0009-leases.ts';
import { replicasMigration } from './0010-replicas.ts';
import { auditEventsMigration } from './0011-audit-events.ts';
import { provisioningMigration } from './0012-provisioning.ts';
import { loginFlowsMigration } from './0013-login-flows.ts';
import { snapshotRestoreScheduleMigration } from './0014-snapshot-restore-schedule.ts';
import { sharedFilesMigration } from './0015-shared-files.ts';
import { etcdSeedMigration } from './0017-etcd-seed.ts';

export interface Migration {
  /** `NNNN-topic`; the number fixes the order. */
  name: string;
  up(db: Kysely<unknown>): Promise<void>;
}

export const migrations: readonly Migration[] = [
  identityMigration,
  clustersMigration,
  accessMigration,
  aceMigration,
  providersMigration,
  providerCredentialsMigration,
  settingsMigration,
  clusterApiServerPinMigration,
  leasesMigration,
  replicasMigration,
  auditEventsMigration,
  provisioningMigration,
  loginFlowsMigration,
  snapshotRestoreScheduleMigration,
  sharedFilesMigration,
  etcdSeedMigration,
];
