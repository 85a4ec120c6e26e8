/**
 * The server's half of provisioning: custom clusters (their version and CA), the
 * nodes that registered for them, each node's plan and its reported progress.
 *
 * Trusts: the registration token to name the cluster (as for every agent), and a
 * node's random id (kept in its data dir) to tell its restart from another machine
 * claiming the same name. Refuses, up front: a version the server has no binaries
 * for; a token whose cluster Drover did not provision; a node name already held by
 * another machine; roles, addresses or ports that are not well formed. Keeps the CA
 * key and every node's planned files (certificate keys) encrypted, and signs node
 * certificates itself: the CA key never leaves the server.
 */
import { isIP } from 'node:net';
import type { Kysely, Selectable } from 'kysely';
import type { Database, ProvisionedNodesTable, SecretBox } from '../store/index.ts';
import type { Cluster, ClusterService } from '../clusters/index.ts';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import type { KubernetesBinaries } from './binaries.ts';
import { createClusterPki, type ClusterPki } from './cluster-pki.ts';
import { missingRole, planId, planNode, waitingFor, type PlanInput, type WebhookFiles } from './planner.ts';
import { nodeTarget, type ClusterUpgrade } from './upgrade-plan.ts';
import {
  portNames, roleNames, type NodePlan, type NodeProgress, type NodeRegistration, type PlanAnswer, type RestoreRequest, type Role,
} from './plan.ts';
import { randomId } from '../tokens/index.ts';
import { checkSchedule, type SnapshotSchedule } from './snapshot-schedule.ts';

export interface ProvisioningServiceOptions {
  db: Kysely<Database>;
  secrets: SecretBox;
  clusters: Pick<ClusterService, 'create' | 'delete' | 'get' | 'clusterForToken' | 'updateStatus'>;
  binaries: KubernetesBinaries;
  webhook: WebhookFiles;
}

/** A node as `drover clusters get` shows it. */
export interface ProvisionedNode {
  name: string;
  roles: Role[];
  address: string;
  apiServerPort?: number;
  progress: NodeProgress;
  updatedAt: string;
  /** Seconds since its node agent last asked for its plan or reported (it asks every 10 s): `clusters get` calls it unreachable past 30 s. */
  silentSeconds?: number;
}

const nodeNamePattern = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
const pkiSecret = (clusterId: string): string => `cluster/${clusterId}/pki`;
const planSecret = (clusterId: string, node: string): string => `cluster/${clusterId}/node/${node}/plan`;
const maxSteps = 40;

export class ProvisioningService {
  constructor(private readonly options: ProvisioningServiceOptions) {}

  /** `drover clusters create NAME --custom`: the cluster in state provisioning, with its own CA. */
  async createCustom(input: { name: string; kubernetesVersion: string; snapshotSchedule?: SnapshotSchedule }): Promise<{ cluster: Cluster; registrationToken: string }> {
    const { binaries, clusters, db } = this.options;
    binaries.assertVersion(input.kubernetesVersion);
    const schedule = input.snapshotSchedule ? checkSchedule(input.snapshotSchedule.everySeconds, input.snapshotSchedule.retention) : undefined;
    const pki = await createClusterPki(input.name);
    const created = await clusters.create({ name: input.name, provisioned: true });
    const id = created.cluster.id;
    try {
      await db.insertInto('provisioned_clusters').values({
        cluster_id: id, kubernetes_version: input.kubernetesVersion, created_at: created.cluster.createdAt, restore: null, etcd_seed: null,
        snapshot_every_ms: schedule ? schedule.everySeconds * 1000 : null, snapshot_retention: schedule?.retention ?? null,
      }).execute();
      await this.putSecret(pkiSecret(id), JSON.stringify(pki));
    } catch (error) {
      await clusters.delete(id);
      throw error;
    }
    await clusters.updateStatus(id, { kubernetesVersion: input.kubernetesVersion });
    return { cluster: await clusters.get(id), registrationToken: created.registrationToken };
  }

  /** The cluster's Kubernetes version, or undefined for a cluster Drover did not provision. */
  async versionOf(clusterId: string): Promise<string | undefined> {
    const row = await this.options.db.selectFrom('provisioned_clusters').select('kubernetes_version').where('cluster_id', '=', clusterId).executeTakeFirst();
    return row?.kubernetes_version;
  }

  /** The provisioned cluster a node agent's token belongs to; refuses tokens of imported clusters. */
  async clusterForNode(token: string): Promise<{ cluster: Cluster; version: string }> {
    const cluster = await this.options.clusters.clusterForToken(token);
    const version = await this.versionOf(cluster.id);
    if (version === undefined) {
      throw new DroverError('DRV_ERR_FORBIDDEN', `this registration token belongs to cluster "${cluster.name}", which Drover did not provision (it was imported): `
        + 'a node agent with --roles builds a cluster made with "drover clusters create NAME --custom"; for an imported cluster run "drover agent" with --kubeconfig');
    }
    return { cluster, version };
  }

  async register(token: string, input: NodeRegistration): Promise<{ clusterId: string; clusterName: string }> {
    const registration = checkRegistration(input);
    const { cluster } = await this.clusterForNode(token);
    if (input.clusterId !== undefined && input.clusterId !== cluster.id) {
      throw new DroverError('DRV_ERR_CONFLICT', `this node's data dir belongs to cluster ${input.clusterId.slice(0, 64)}, but its registration token is for cluster "${cluster.name}" `
        + `(${cluster.id}): one data dir is one node of one cluster; run this node with its own cluster's token, or give it another --data-dir`);
    }
    const { db } = this.options;
    const at = new Date().toISOString();
    const existing = await this.nodeRow(cluster.id, registration.name);
    if (existing && existing.node_id !== registration.nodeId) {
      throw new DroverError('DRV_ERR_CONFLICT', `node name "${registration.name}" is already registered in cluster "${cluster.name}" by another machine `
        + '(its data dir holds another node id): give this machine another --node-name, or delete that node\'s data dir if it is the same machine rebuilt');
    }
    if (existing) await this.refuseRoleGap(cluster, registration, toRegistration(existing).roles);
    const values = {
      node_id: registration.nodeId, roles: JSON.stringify(registration.roles), address: registration.address,
      ports: JSON.stringify(registration.ports), updated_at: at,
    };
    if (existing) await db.updateTable('provisioned_nodes').set(values).where('cluster_id', '=', cluster.id).where('name', '=', registration.name).execute();
    else await db.insertInto('provisioned_nodes').values({ cluster_id: cluster.id, name: registration.name, plan_digest: null, progress: null, seen_at: at, ...values }).execute();
    return { clusterId: cluster.id, clusterName: cluster.name };
  }

  /**
   * Once the cluster's plan is decided (some node got one), a node coming back with
   * fewer roles must not leave the cluster without etcd or a control plane: its
   * processes would be stopped and the cluster lost, with nothing to say why.
   */
  private async refuseRoleGap(cluster: Cluster, node: NodeRegistration, had: Role[]): Promise<void> {
    const rows = await this.nodeRows(cluster.id);
    if (!rows.some((r) => r.plan_digest !== null)) return;
    const missing = missingRole([...rows.filter((r) => r.name !== node.name).map(toRegistration), node]);
    if (!missing) return;
    throw new DroverError('DRV_ERR_CONFLICT', `node "${node.name}" cannot leave the ${missing} role: it is the only ${missing} node of cluster "${cluster.name}", whose plan is made, `
      + `so --roles ${node.roles.join(',')} would leave the cluster with no ${missing === 'etcd' ? 'etcd member' : 'control plane'}. `
      + `Run it with --roles ${had.join(',')} as before, or register another node with the ${missing} role first`);
  }

  /** The node's plan: the stored one while its inputs are unchanged, else a new one (new certificates). */
  async plan(token: string, nodeName: string, nodeId: string): Promise<PlanAnswer> {
    const { cluster, version } = await this.clusterForNode(token);
    const row = await this.ownNode(cluster, nodeName, nodeId);
    await this.seen(cluster.id, nodeName);
    const inputs = await this.planInputs(cluster, version, toRegistration(row), 'claim the seed');
    if (inputs.kind === 'wait') return inputs;
    const { id, ...input } = inputs;
    if (row.plan_digest === id) return { kind: 'plan', plan: JSON.parse(await this.getSecret(planSecret(cluster.id, nodeName))) as NodePlan };
    const pki = JSON.parse(await this.getSecret(pkiSecret(cluster.id))) as ClusterPki;
    const answer = await planNode({ ...input, pki, webhook: this.options.webhook });
    if (answer.kind === 'plan') {
      await this.putSecret(planSecret(cluster.id, nodeName), JSON.stringify(answer.plan));
      await this.options.db.updateTable('provisioned_nodes').set({ plan_digest: id, updated_at: new Date().toISOString() })
        .where('cluster_id', '=', cluster.id).where('name', '=', nodeName).execute();
    }
    return answer;
  }

  /** The id of the plan `nodeName` gets now (a running upgrade follows a node's progress by it), or undefined while it waits for one. */
  async expectedPlanId(cluster: Cluster, nodeName: string): Promise<string | undefined> {
    const [version, row] = [await this.versionOf(cluster.id), await this.nodeRow(cluster.id, nodeName)];
    if (version === undefined || !row) return undefined;
    // A question, not a node asking for its plan: it reads the seed and never claims it.
    const inputs = await this.planInputs(cluster, version, toRegistration(row));
    return inputs.kind === 'wait' ? undefined : inputs.id;
  }

  /** What a node's plan is made from, and so its id: during an upgrade, the version the upgrade gave that node. */
  private async planInputs(cluster: Cluster, version: string, node: NodeRegistration, seed?: 'claim the seed'): Promise<{ kind: 'wait'; reason: string } | (Omit<PlanInput, 'pki' | 'webhook'> & { kind: 'plan'; id: string })> {
    // The seed first, the nodes after: the seed registered before it was chosen, so a joiner's plan always lists it.
    const etcdSeed = await this.etcdSeed(cluster.id, seed ? node : undefined);
    const nodes = (await this.nodeRows(cluster.id)).map(toRegistration);
    const wait = waitingFor(nodes, node);
    if (wait) return { kind: 'wait', reason: wait };
    const target = nodeTarget(await this.upgradeOf(cluster.id), node.name, version);
    const binaries = await this.options.binaries.set(target.version);
    const restore = await this.restoreOf(cluster.id);
    const input = { cluster, binaries, nodes, node, etcdSeed, ...(restore ? { restore } : {}), ...(target.attempt ? { attempt: target.attempt } : {}) };
    return { kind: 'plan', ...input, id: planId(input) };
  }

  /** The cluster's last upgrade, if any (upgrade.ts drives it). */
  async upgradeOf(clusterId: string): Promise<ClusterUpgrade | undefined> {
    const row = await this.options.db.selectFrom('provisioned_clusters').select('upgrade').where('cluster_id', '=', clusterId).executeTakeFirst();
    return row?.upgrade ? JSON.parse(row.upgrade) as ClusterUpgrade : undefined;
  }

  /** Records the upgrade's progress; once it is done, `version` is the cluster's version. */
  async saveUpgrade(clusterId: string, upgrade: ClusterUpgrade): Promise<void> {
    await this.options.db.updateTable('provisioned_clusters')
      .set({ upgrade: JSON.stringify(upgrade), ...(upgrade.state === 'done' ? { kubernetes_version: upgrade.to } : {}) })
      .where('cluster_id', '=', clusterId).execute();
    if (upgrade.state === 'done') await this.options.clusters.updateStatus(clusterId, { kubernetesVersion: upgrade.to });
  }

  /** The versions the cluster's nodes may download: its own, and an upgrade's target while one is under way. */
  async nodeVersions(clusterId: string, version: string): Promise<string[]> {
    const upgrade = await this.upgradeOf(clusterId);
    return upgrade && upgrade.state !== 'done' ? [version, upgrade.to] : [version];
  }

  /** The registered nodes, as they registered. */
  async registrations(clusterId: string): Promise<NodeRegistration[]> {
    return (await this.nodeRows(clusterId)).map(toRegistration);
  }

  /**
   * The node that starts the cluster's etcd: the first etcd node to ask for a plan
   * (`claimant`, when a node asks). Set by a compare-and-set, so two nodes asking at
   * once cannot both start a cluster.
   */
  private async etcdSeed(clusterId: string, claimant: NodeRegistration | undefined): Promise<string> {
    const { db } = this.options;
    if (claimant?.roles.includes('etcd')) {
      await db.updateTable('provisioned_clusters').set({ etcd_seed: claimant.name }).where('cluster_id', '=', clusterId).where('etcd_seed', 'is', null).execute();
    }
    const row = await db.selectFrom('provisioned_clusters').select('etcd_seed').where('cluster_id', '=', clusterId).executeTakeFirst();
    return row?.etcd_seed ?? '';
  }

  /**
   * Asks the cluster's nodes to restore `snapshot`: every node's next plan carries
   * the new restore id (etcd nodes restore, the others restart). The etcd node
   * names are returned, to follow their progress.
   */
  async requestRestore(clusterId: string, snapshot: { id: string; sha256: string; size: number }): Promise<{ restore: RestoreRequest; etcdNodes: string[] }> {
    const etcdNodes = (await this.nodeRows(clusterId)).map(toRegistration).filter((n) => n.roles.includes('etcd')).map((n) => n.name);
    if (etcdNodes.length === 0) throw new DroverError('DRV_ERR_CONFLICT', 'the cluster has no node with the etcd role to restore the snapshot on: register one (the node command of "drover clusters get NAME --registration"), then restore');
    const restore: RestoreRequest = { id: randomId('r-', 10), snapshotId: snapshot.id, sha256: snapshot.sha256, size: snapshot.size, requestedAt: new Date().toISOString() };
    await this.options.db.updateTable('provisioned_clusters').set({ restore: JSON.stringify(restore) }).where('cluster_id', '=', clusterId).execute();
    return { restore, etcdNodes };
  }

  /** The snapshot a registered node of the token's cluster may download now: only the one its cluster is being restored to. */
  async restoreForNode(token: string, nodeName: string, nodeId: string, snapshotId: string): Promise<{ clusterId: string; restore: RestoreRequest }> {
    const { cluster } = await this.clusterForNode(token);
    await this.ownNode(cluster, nodeName, nodeId);
    const restore = await this.restoreOf(cluster.id);
    if (restore?.snapshotId !== snapshotId) {
      throw new DroverError('DRV_ERR_FORBIDDEN', `snapshot ${snapshotId.slice(0, 40)} is not the one cluster "${cluster.name}" is being restored to: nodes download a snapshot only during its restore`);
    }
    return { clusterId: cluster.id, restore };
  }

  /** Sets (or, with undefined, removes) the cluster's snapshot schedule; the owner replica's scheduler follows it. */
  async setSnapshotSchedule(clusterId: string, schedule: SnapshotSchedule | undefined): Promise<void> {
    await this.options.db.updateTable('provisioned_clusters')
      .set({ snapshot_every_ms: schedule ? schedule.everySeconds * 1000 : null, snapshot_retention: schedule?.retention ?? null })
      .where('cluster_id', '=', clusterId).execute();
  }

  async snapshotSchedule(clusterId: string): Promise<SnapshotSchedule | undefined> {
    const row = await this.options.db.selectFrom('provisioned_clusters').select(['snapshot_every_ms', 'snapshot_retention']).where('cluster_id', '=', clusterId).executeTakeFirst();
    return row?.snapshot_every_ms ? { everySeconds: row.snapshot_every_ms / 1000, retention: row.snapshot_retention ?? 1 } : undefined;
  }

  /** The last restore asked for, if any. */
  async restoreOf(clusterId: string): Promise<RestoreRequest | undefined> {
    const row = await this.options.db.selectFrom('provisioned_clusters').select('restore').where('cluster_id', '=', clusterId).executeTakeFirst();
    return row?.restore ? JSON.parse(row.restore) as RestoreRequest : undefined;
  }

  /** A node's progress report; while the cluster is provisioning, its latest step is the cluster's reason. */
  async report(token: string, nodeName: string, nodeId: string, progress: NodeProgress): Promise<void> {
    const { cluster } = await this.clusterForNode(token);
    await this.ownNode(cluster, nodeName, nodeId);
    const steps = progress.steps.slice(-maxSteps).map((s) => ({ ...s, step: s.step.slice(0, 80), ...(s.message ? { message: s.message.slice(0, 2000) } : {}) }));
    const at = new Date().toISOString();
    await this.options.db.updateTable('provisioned_nodes').set({ progress: JSON.stringify({ ...progress, steps }), updated_at: at, seen_at: at })
      .where('cluster_id', '=', cluster.id).where('name', '=', nodeName).execute();
    const last = steps[steps.length - 1];
    if (cluster.state === 'provisioning' && last) {
      const what = last.state === 'failed' ? `failed: ${last.message ?? 'no reason given'}` : last.state === 'running' ? 'in progress' : 'done';
      await this.options.clusters.updateStatus(cluster.id, { stateReason: `node ${nodeName}: ${last.step} ${what}` });
    }
  }

  async nodes(clusterId: string): Promise<ProvisionedNode[]> {
    const now = Date.now();
    return (await this.nodeRows(clusterId)).map((row) => {
      const reg = toRegistration(row);
      return {
        name: row.name, roles: reg.roles, address: reg.address,
        ...(reg.roles.includes('controlplane') ? { apiServerPort: reg.ports.apiServer } : {}),
        progress: row.progress ? JSON.parse(row.progress) as NodeProgress : { steps: [] },
        updatedAt: row.updated_at,
        ...(row.seen_at ? { silentSeconds: Math.max(0, Math.round((now - Date.parse(row.seen_at)) / 1000)) } : {}),
      };
    });
  }

  /** The cluster CA (public half), which verifies every node's kube-apiserver. */
  async caPem(clusterId: string): Promise<string> {
    return (JSON.parse(await this.getSecret(pkiSecret(clusterId))) as ClusterPki).ca.certPem;
  }

  /** Forgets a deleted cluster's nodes, CA and plans. */
  async forget(clusterId: string): Promise<void> {
    const { db } = this.options;
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('secrets').where((eb) => eb.or([eb('name', '=', pkiSecret(clusterId)), eb('name', 'like', `cluster/${clusterId}/node/%`)])).execute();
      await tx.deleteFrom('provisioned_nodes').where('cluster_id', '=', clusterId).execute();
      await tx.deleteFrom('provisioned_clusters').where('cluster_id', '=', clusterId).execute();
    });
  }

  private async ownNode(cluster: Cluster, nodeName: string, nodeId: string): Promise<Selectable<ProvisionedNodesTable>> {
    const row = await this.nodeRow(cluster.id, nodeName);
    if (!row) throw new DroverError('DRV_ERR_NOT_FOUND', `node "${nodeName.slice(0, 64)}" is not registered in cluster "${cluster.name}": the node agent registers it when it starts`);
    if (row.node_id !== nodeId) throw new DroverError('DRV_ERR_CONFLICT', `node name "${nodeName}" of cluster "${cluster.name}" belongs to another machine`);
    return row;
  }

  private async seen(clusterId: string, name: string): Promise<void> {
    await this.options.db.updateTable('provisioned_nodes').set({ seen_at: new Date().toISOString() }).where('cluster_id', '=', clusterId).where('name', '=', name).execute();
  }

  private nodeRow(clusterId: string, name: string): Promise<Selectable<ProvisionedNodesTable> | undefined> {
    return this.options.db.selectFrom('provisioned_nodes').selectAll().where('cluster_id', '=', clusterId).where('name', '=', name).executeTakeFirst();
  }

  private nodeRows(clusterId: string): Promise<Array<Selectable<ProvisionedNodesTable>>> {
    return this.options.db.selectFrom('provisioned_nodes').selectAll().where('cluster_id', '=', clusterId).orderBy('name').execute();
  }

  private async putSecret(name: string, value: string): Promise<void> {
    const at = new Date().toISOString();
    const ciphertext = this.options.secrets.encrypt(value, name);
    await this.options.db.insertInto('secrets').values({ name, ciphertext, updated_at: at })
      .onConflict((oc) => oc.column('name').doUpdateSet({ ciphertext, updated_at: at })).execute();
  }

  private async getSecret(name: string): Promise<string> {
    const row = await this.options.db.selectFrom('secrets').select('ciphertext').where('name', '=', name).executeTakeFirst();
    if (!row) throw new DroverError('DRV_ERR_INTERNAL', `the stored secret ${name} is missing`);
    return this.options.secrets.decrypt(row.ciphertext, name);
  }
}

function toRegistration(row: Selectable<ProvisionedNodesTable>): NodeRegistration {
  return { name: row.name, nodeId: row.node_id, roles: JSON.parse(row.roles) as Role[], address: row.address, ports: JSON.parse(row.ports) as NodeRegistration['ports'] };
}

/** Everything a node says about itself ends up in flags and certificates: checked strictly. */
export function checkRegistration(input: NodeRegistration): NodeRegistration {
  if (typeof input.name !== 'string' || !nodeNamePattern.test(input.name)) throw new InvalidArgumentError('--node-name', 'a DNS label of lowercase letters, digits, "-" and "."', String(input.name).slice(0, 80));
  if (typeof input.nodeId !== 'string' || !/^[0-9a-f]{32}$/.test(input.nodeId)) throw new InvalidArgumentError('node id', '32 hex characters (from the data dir)');
  if (!Array.isArray(input.roles) || input.roles.length === 0 || !input.roles.every((r) => (roleNames as readonly string[]).includes(r))) {
    throw new InvalidArgumentError('--roles', `a non-empty subset of ${roleNames.join(',')}`);
  }
  if (typeof input.address !== 'string' || isIP(input.address) === 0) throw new InvalidArgumentError('--address', 'an IP address', String(input.address).slice(0, 60));
  const ports = input.ports as unknown as Record<string, unknown>;
  for (const name of portNames) {
    const port = ports[name];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`port ${name}`, 'an integer 1-65535');
  }
  const distinct = new Set(portNames.map((n) => ports[n]));
  if (distinct.size !== portNames.length) throw new InvalidArgumentError('ports', 'a different port per process');
  return { name: input.name, nodeId: input.nodeId, roles: [...new Set(input.roles)], address: input.address, ports: input.ports };
}
