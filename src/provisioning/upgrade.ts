/**
 * Kubernetes upgrades of provisioned clusters (`drover clusters upgrade NAME
 * --kubernetes-version V`): the request is checked and recorded with the cluster
 * (any replica may take it); the cluster's owner replica (docs/ha.md) then drives
 * it, one node at a time in upgrade-plan.ts's order. A node is moved by giving it a
 * plan at the new version (its node agent fetches and checks the new binaries and
 * restarts its processes, each health-checked, as in provisioning); the node is
 * done when it reports that plan carried out AND the server sees it healthy
 * through the cluster's API (it answers through the tunnel; a worker's Node is
 * Ready). The first failure stops the upgrade with the node and the reason; asking
 * for the same upgrade again resumes it at that node.
 *
 * While a node carries out its new plan, the tunnel is told to drain it: requests go
 * through another control-plane node's session, so the cluster's API answers while
 * that node's kube-apiserver restarts (issue 24: no failure longer than 10 s on three
 * nodes). The drain ends when the node reports its plan carried out, so the server's
 * health check reaches the upgraded node's own kube-apiserver again. A failed node
 * stays drained (its kube-apiserver is likely down) until the upgrade goes on. A node
 * starts only when every other node has carried out its current plan, so two never
 * restart at once (etcd's quorum, and a kube-apiserver to drain to).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import type { Cluster, ClusterService } from '../clusters/index.ts';
import type { KubeClient } from '../kube/index.ts';
import type { Logger } from '../logging/index.ts';
import { randomId } from '../tokens/index.ts';
import type { KubernetesBinaries } from './binaries.ts';
import type { ProvisioningService } from './provisioning-service.ts';
import { SerialTicker } from './serial-ticker.ts';
import { newUpgrade, readReport, resumeUpgrade, upgradeAction, type ClusterUpgrade, type UpgradeNode } from './upgrade-plan.ts';

export interface ClusterUpgradesOptions {
  db: Kysely<Database>;
  service: ProvisioningService;
  clusters: Pick<ClusterService, 'get'>;
  binaries: Pick<KubernetesBinaries, 'versions'>;
  /** Whether this replica owns the cluster (by its tunnel sessions, its API up or not): only the owner drives its upgrade. */
  owns(clusterId: string): boolean;
  /** The owner's client for the cluster's API (through the tunnel), for the server's health check of a node. */
  liveClient(clusterId: string): KubeClient | undefined;
  /** Tells the node agent holding the tunnel its plan changed (the others ask every 10 s). */
  nudge(clusterId: string): void;
  /** Moves the cluster's traffic off `nodeName`'s tunnel sessions while another node's is open (undefined: ends it). */
  drain(clusterId: string, nodeName: string | undefined): void;
  logger: Logger;
  /** How often running upgrades are looked at (default 1 s). */
  tickMs?: number;
  /** How long one node may take, from its new plan to healthy (default 10 min). */
  nodeTimeoutMs?: number;
}

interface NodeObject { status?: { conditions?: Array<{ type: string; status: string; message?: string }> } }

export class ClusterUpgrades extends SerialTicker {
  private readonly nodeTimeoutMs: number;

  constructor(private readonly options: ClusterUpgradesOptions) {
    super(options.tickMs ?? 1_000);
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 600_000;
  }

  /** Checks and records an upgrade to `target` (or resumes a failed one to it); the owner replica carries it out. */
  async request(clusterId: string, target: string): Promise<ClusterUpgrade> {
    const { service } = this.options;
    const cluster = await this.options.clusters.get(clusterId);
    const current = await service.versionOf(cluster.id);
    const last = await service.upgradeOf(cluster.id);
    const action = upgradeAction({ cluster, current, target, offered: this.options.binaries.versions(), last });
    if (action === 'running' && last) return last;
    const upgrade = action === 'resume' && last
      ? resumeUpgrade(last, randomId('a-', 8))
      : newUpgrade(current as string, target, await service.registrations(cluster.id), new Date().toISOString());
    await service.saveUpgrade(cluster.id, upgrade);
    this.options.logger.info({ cluster: cluster.name, from: upgrade.from, to: target, resumed: action === 'resume' }, 'cluster upgrade asked for');
    return upgrade;
  }

  /** One step of every running upgrade this replica owns. */
  async pass(): Promise<void> {
    const { db, logger } = this.options;
    const rows = await db.selectFrom('provisioned_clusters').select(['cluster_id', 'upgrade']).where('upgrade', 'is not', null).execute().catch((error: unknown) => {
      logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not read the cluster upgrades; retrying');
      return [];
    });
    for (const row of rows) {
      // Ownership first: it is a lookup in memory, and most rows are other replicas' or long done.
      if (this.stopped || !this.options.owns(row.cluster_id)) continue;
      const upgrade = JSON.parse(row.upgrade as string) as ClusterUpgrade;
      if (upgrade.state !== 'running') continue;
      try {
        await this.advance(await this.options.clusters.get(row.cluster_id), upgrade);
      } catch (error) {
        logger.warn({ cluster: row.cluster_id, error: error instanceof Error ? error.message : String(error) }, 'cluster upgrade step failed; trying again');
      }
    }
  }

  private async advance(cluster: Cluster, upgrade: ClusterUpgrade): Promise<void> {
    const { service, logger } = this.options;
    const now = new Date();
    const node = upgrade.nodes.find((n) => n.state === 'upgrading');
    if (!node) {
      const next = upgrade.nodes.find((n) => n.state === 'waiting');
      if (next) {
        if (await this.waitsForOthers(cluster, upgrade, next, now)) return;
        Object.assign(next, { state: 'upgrading', startedAt: now.toISOString() });
        await service.saveUpgrade(cluster.id, upgrade);
        // Before the node hears of its plan, so no new request goes to it when it stops its processes.
        this.options.drain(cluster.id, next.name);
        this.options.nudge(cluster.id);
        logger.info({ cluster: cluster.name, node: next.name, to: upgrade.to }, 'upgrading node');
      } else {
        await service.saveUpgrade(cluster.id, { ...upgrade, state: 'done', finishedAt: now.toISOString() });
        logger.info({ cluster: cluster.name, from: upgrade.from, to: upgrade.to }, 'cluster upgraded');
      }
      return;
    }
    const planId = await service.expectedPlanId(cluster, node.name);
    const progress = (await service.nodes(cluster.id)).find((n) => n.name === node.name)?.progress;
    const report = planId && progress ? readReport(progress, planId, node.startedAt) : { kind: 'pending' as const };
    const late = now.getTime() - Date.parse(node.startedAt ?? now.toISOString()) > this.nodeTimeoutMs;
    // Again on every pass, so a replica that took the upgrade over (or restarted) drains the node too.
    this.options.drain(cluster.id, report.kind === 'done' ? undefined : node.name);
    if (report.kind === 'failed') return this.fail(cluster, upgrade, node, report.reason);
    if (report.kind === 'pending') {
      if (late) return this.fail(cluster, upgrade, node, `did not carry out its plan for ${upgrade.to} within ${this.minutes()} (is its node agent running? its log and "drover clusters get ${cluster.name}" say where it is)`);
      return;
    }
    const health = await this.health(cluster.id, node);
    if (!health.ok) {
      if (late) return this.fail(cluster, upgrade, node, `carried out its plan for ${upgrade.to} but is not healthy after ${this.minutes()}: ${health.message}`);
      return;
    }
    Object.assign(node, { state: 'done', doneAt: now.toISOString(), message: health.message, steps: report.steps });
    await service.saveUpgrade(cluster.id, upgrade);
    logger.info({ cluster: cluster.name, node: node.name, to: upgrade.to, steps: report.steps }, 'node upgraded');
  }

  /**
   * Whether `next` must wait because another node has not carried out its current plan
   * yet (a node re-planning as etcd members joined, or restarting for any other reason):
   * two nodes restarting at once could cost etcd its quorum and leave no kube-apiserver to
   * drain to. Past the node timeout (from the previous node's end) the upgrade stops there.
   */
  private async waitsForOthers(cluster: Cluster, upgrade: ClusterUpgrade, next: UpgradeNode, now: Date): Promise<boolean> {
    const { service } = this.options;
    const progress = new Map((await service.nodes(cluster.id)).map((n) => [n.name, n.progress]));
    for (const other of upgrade.nodes) {
      if (other === next) continue;
      const planId = await service.expectedPlanId(cluster, other.name);
      const reported = progress.get(other.name);
      const report = planId && reported ? readReport(reported, planId) : { kind: 'pending' as const };
      if (report.kind === 'done') continue;
      const since = upgrade.nodes.filter((n) => n.doneAt).map((n) => n.doneAt as string).sort().pop() ?? upgrade.startedAt;
      if (now.getTime() - Date.parse(since) > this.nodeTimeoutMs) {
        await this.fail(cluster, upgrade, next, `node ${other.name} has not carried out its current plan within ${this.minutes()}, so ${next.name} was not started (is its node agent running? "drover clusters get ${cluster.name}" says where it is)`);
      }
      return true;
    }
    return false;
  }

  private async fail(cluster: Cluster, upgrade: ClusterUpgrade, node: UpgradeNode, reason: string): Promise<void> {
    Object.assign(node, { state: 'failed', message: reason });
    const failure = `node ${node.name}: ${reason}`;
    await this.options.service.saveUpgrade(cluster.id, { ...upgrade, state: 'failed', failure, finishedAt: new Date().toISOString() });
    this.options.logger.error({ cluster: cluster.name, node: node.name, reason }, 'cluster upgrade stopped at a failed node');
  }

  /**
   * The server's own look at a node its agent reported upgraded (the agent has
   * checked etcd's /health and kube-apiserver's /readyz itself): the cluster's API
   * answers through the tunnel, and a worker's Node is Ready.
   */
  private async health(clusterId: string, node: UpgradeNode): Promise<{ ok: boolean; message: string }> {
    const client = this.options.liveClient(clusterId);
    if (!client) return { ok: false, message: 'the cluster\'s API does not answer through its tunnel (the cluster is not active)' };
    try {
      const signal = AbortSignal.timeout(5_000);
      const version = await client.get<{ gitVersion?: string }>('/version', { signal });
      let message = `the cluster's API answers (${version.gitVersion ?? 'no version'})`;
      if (node.roles.includes('worker')) {
        const ready = (await client.get<NodeObject>(`/api/v1/nodes/${encodeURIComponent(node.name)}`, { signal })).status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') return { ok: false, message: `its Node is not Ready (${ready?.message ?? 'no Ready condition yet'})` };
        message += '; its Node is Ready';
      }
      return { ok: true, message };
    } catch (error) {
      return { ok: false, message: `the cluster's API: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  private minutes(): string {
    return `${Math.round(this.nodeTimeoutMs / 60_000)} min`;
  }
}
