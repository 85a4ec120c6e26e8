/**
 * provisioning/: clusters Drover builds on the user's machines ("custom"
 * clusters). The server plans (planner.ts), keeps each cluster's CA and signs
 * every node certificate (cluster-pki.ts), and serves the Kubernetes binaries
 * (binaries.ts); a node agent (node-agent.ts, run by `drover agent --mode node
 * --roles ...`) registers, fetches and checks the binaries, writes its plan's
 * files and starts and supervises the processes, reporting each step. See
 * README.md for the design note and docs/provisioning.md for the driver interface.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Database, SecretBox } from '../store/index.ts';
import type { ClusterService } from '../clusters/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';
import type { AgentSessionView } from '../tunnel/index.ts';
import { EtcdSnapshots } from './snapshots.ts';
import { KubernetesBinaries } from './binaries.ts';
import { ProvisioningService } from './provisioning-service.ts';
import { provisioningApi } from './provisioning-api.ts';
import type { WebhookFiles } from './planner.ts';
import type { NodeContext, ProvisioningDriver } from './driver.ts';
import { customDriver } from './custom-driver.ts';
import { SnapshotScheduler } from './snapshot-schedule.ts';
import { ClusterUpgrades } from './upgrade.ts';
import { planChangedRoute } from './plan.ts';
import type { KubeClient } from '../kube/index.ts';
import type { Logger } from '../logging/index.ts';

export { KubernetesBinaries, binaryNames, testKubeletMarker, type BinaryName, type BinarySet } from './binaries.ts';
export { ProvisioningService, type ProvisionedNode } from './provisioning-service.ts';
export { NodeAgent, type NodeAgentOptions } from './node-agent.ts';
export { parseRoles, roleNames, type Role, type NodePlan, type NodeProgress } from './plan.ts';
export { kubeletInvocation, kubeletConfiguration } from './kubelet-config.ts';
export { maxSnapshotBytes } from './etcd-snapshot.ts';
export { etcdTlsOptions, listMembers } from './etcd-membership.ts';
export type { EtcdSnapshot } from './snapshots.ts';
export { checkSchedule, type SnapshotSchedule } from './snapshot-schedule.ts';
export type { WebhookFiles } from './planner.ts';
export type { ProvisioningDriver, ClusterSpec, DriverRegistration, NodeContext } from './driver.ts';
export type { ClusterUpgrade, UpgradeNode } from './upgrade-plan.ts';

export interface ProvisioningFeatureOptions {
  db: Kysely<Database>;
  secrets: SecretBox;
  clusters: ClusterService;
  /** `--kubernetes-binaries`; without it no custom cluster can be created. */
  binariesDir?: string;
  authenticator: TokenAuthenticator;
  publicUrl: string;
  caPem: string;
  webhook: WebhookFiles;
  /** Where etcd snapshots were kept before the database held them: `<server data dir>/snapshots` (moved in at start). */
  snapshotsDir: string;
  /** A cluster's current tunnel session, through which snapshots are taken. */
  sessionFor: (clusterId: string) => AgentSessionView | undefined;
  /** Every tunnel session of a cluster here (one per connected control-plane node), told at once when their plans change. */
  sessionsOf: (clusterId: string) => AgentSessionView[];
  /** Whether this replica owns the cluster (docs/ha.md): only the owner takes its scheduled snapshots. */
  owns: (clusterId: string) => boolean;
  /**
   * Whether this replica owns the cluster by its tunnel sessions, whether its API answers or not: an
   * upgrade goes on (or is resumed) while the node it restarts, maybe the only one, is down.
   */
  ownsTunnel: (clusterId: string) => boolean;
  /** The owner's client for a cluster's API (through its tunnel): an upgrade's health check of each node. */
  liveClient: (clusterId: string) => KubeClient | undefined;
  /** Moves a cluster's tunnel traffic off one node's sessions while another's is open (undefined: ends it), for an upgrade. */
  drain: (clusterId: string, nodeName: string | undefined) => void;
  logger: Logger;
}

export interface ProvisioningFeature {
  service: ProvisioningService;
  /** The engines by name; only `custom` today (docs/provisioning.md). */
  drivers: Record<string, ProvisioningDriver>;
  apiPlugins: FastifyPluginAsyncTypebox[];
  /** Direct-access contexts of a provisioned cluster, on by default. */
  aceContexts(clusterId: string): Promise<NodeContext[]>;
  /** A deleted cluster: each driver removes what it can and names what it could not reach. */
  clusterDeleted(clusterId: string, toldNodes: string[]): Promise<string>;
  /** Stops the snapshot scheduler (waiting for a snapshot it is taking). */
  close(): Promise<void>;
}

export function createProvisioningFeature(options: ProvisioningFeatureOptions): ProvisioningFeature {
  const binaries = new KubernetesBinaries(options.binariesDir);
  const service = new ProvisioningService({ db: options.db, secrets: options.secrets, clusters: options.clusters, binaries, webhook: options.webhook });
  const caChecksum = createHash('sha256').update(options.caPem, 'utf8').digest('hex');
  const drivers: Record<string, ProvisioningDriver> = { custom: customDriver({ service, clusters: options.clusters, publicUrl: options.publicUrl, caChecksum }) };
  const all = Object.values(drivers);
  const snapshots = new EtcdSnapshots({ db: options.db, dir: options.snapshotsDir, sessionFor: options.sessionFor });
  // In the background: a data dir without old snapshot files (every new one) costs one readdir.
  snapshots.adoptFiles().then(
    (moved) => { if (moved > 0) options.logger.info({ moved }, 'moved etcd snapshots from the data dir into the database'); },
    (error: unknown) => { options.logger.error({ err: error }, 'could not move etcd snapshots from the data dir into the database; they stay there and are retried at the next start'); },
  );
  const scheduler = new SnapshotScheduler({
    db: options.db, snapshots, owns: options.owns, clusterName: async (clusterId) => (await options.clusters.get(clusterId)).name,
    restoring: async (clusterId) => (await service.restoreOf(clusterId))?.snapshotId,
    logger: options.logger.child({ component: 'snapshot-schedule' }),
  }).start();
  // Only a speed-up: a node that misses it (no session here, an older node agent) checks its plan within 10 s anyway.
  // Every control-plane node's session at once: restored etcd members wait for their quorum, so they should restore together.
  const nudge = (clusterId: string): void => {
    for (const session of options.sessionsOf(clusterId)) {
      void session.request(planChangedRoute.method, planChangedRoute.path, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    }
  };
  const upgrades = new ClusterUpgrades({
    db: options.db, service, clusters: options.clusters, binaries, owns: options.ownsTunnel, liveClient: options.liveClient, nudge, drain: options.drain,
    logger: options.logger.child({ component: 'cluster-upgrade' }),
  }).start();
  return {
    close: async () => { await Promise.all([scheduler.stop(), upgrades.stop()]); },
    service, drivers,
    apiPlugins: provisioningApi({ service, driver: drivers.custom as ProvisioningDriver, snapshots, clusters: options.clusters, binaries, authenticator: options.authenticator, nudge, upgrades }),
    aceContexts: async (clusterId) => (await Promise.all(all.map((d) => d.aceContexts(clusterId)))).flat(),
    clusterDeleted: async (clusterId, toldNodes) => {
      await snapshots.forget(clusterId);
      return (await Promise.all(all.map((d) => d.deleted(clusterId, toldNodes)))).join('');
    },
  };
}
