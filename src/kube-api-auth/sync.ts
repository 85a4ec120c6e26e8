/**
 * Server side of the authorized cluster endpoint: keeps, in every live cluster,
 * the ClusterAuthToken and ClusterUserAttribute records equal to what the store
 * says. Desired state: the unexpired tokens scoped to that cluster whose users may
 * access it (ClusterAccess; admins only until bindings exist), and those users'
 * attributes. Only hashes leave the server.
 *
 * Polls the store every `intervalMs` (one indexed query for all clusters, split by
 * cluster once, so each cluster walks only its own rows), so a
 * revocation, a disabled user or a group change reaches each reachable cluster
 * within about one interval plus the writes. A cluster whose desired records are
 * the same as at its last successful sync is left alone, except on every
 * `verifyEveryTicks`-th tick (a minute by default), when its records are read back
 * and any change made inside the cluster is undone: an idle server then no longer
 * lists every cluster's records through its tunnel every 2 s (issue #21, idle CPU). Which clusters are live comes from
 * ClusterControllers' events, not a poll: a cluster that turns Active is synced at
 * once, one that goes is left alone. Each cluster syncs on its own: a cluster that
 * fails or hangs is retried on a later tick and never delays another.
 */
import type { Logger } from 'pino';
import type { AuthenticatedUser, TokenService } from '../identity/index.ts';
import type { KubeClient, KubeList } from '../kube/index.ts';
import { isKubeApiError, resourcePath, resources } from '../kube/index.ts';
import type { ClusterLiveness } from '../clusters/index.ts';
import { managedByLabel } from '../agent-protocol/index.ts';
import { silentLogger } from '../logging/index.ts';
import { groupPrincipalIds } from '../principals/index.ts';
import {
  aceConfigMapName, aceCrds, aceNamespace, clusterAuthToken, clusterAuthTokens, clusterUserAttribute, clusterUserAttributes,
  type AceRecord, type ClusterAuthTokenSpec, type ClusterUserAttributeSpec,
} from './crds.ts';

/** Who may reach a cluster; the ClusterMembership contract from src/access fits. */
export interface ClusterAccessCheck {
  canAccessCluster(user: AuthenticatedUser, clusterId: string): Promise<boolean>;
}

/** Stand-in until bindings exist: Drover admins only. */
export const adminsOnly: ClusterAccessCheck = {
  canAccessCluster: (user) => Promise.resolve(user.globalRole === 'admin'),
};

export interface SyncTarget { id: string; client: KubeClient }

/** The cluster-scoped tokens with their users (identity's TokenService, the tokens table's owner). */
export type ClusterTokenSource = Pick<TokenService, 'clusterScoped'>;

export interface AceSyncOptions {
  tokens: ClusterTokenSource;
  /** Which clusters are live, with a client through their tunnel. */
  clusters: Pick<ClusterLiveness, 'onLive' | 'onGone'>;
  access?: ClusterAccessCheck;
  logger?: Logger;
  intervalMs?: number;
  clock?: () => number;
}

export interface DesiredRecords {
  tokens: Map<string, ClusterAuthTokenSpec>;
  users: Map<string, ClusterUserAttributeSpec>;
}

const fieldManager = 'drover-ace-sync';
/** How often (in ticks) a cluster whose desired records have not changed is checked anyway: 30 × 2 s. */
const verifyEveryTicks = 30;
const selector = Object.entries(managedByLabel).map(([k, v]) => `${k}=${v}`).join(',');

export class AceSync {
  private readonly options: AceSyncOptions;
  private readonly access: ClusterAccessCheck;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly crdsApplied = new Set<string>();
  private readonly lastError = new Map<string, string>();
  /** Per cluster: a fingerprint of what its last successful sync wrote, and that sync's tick. */
  private readonly lastSynced = new Map<string, { fingerprint: string; tick: number }>();
  /** The live clusters, kept by ClusterControllers' events. */
  private readonly targets = new Map<string, KubeClient>();
  private unsubscribe: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Completed per-cluster syncs, for tests and metrics. */
  readonly stats = { ticks: 0, synced: 0, failed: 0, writes: 0 };

  constructor(options: AceSyncOptions) {
    this.options = options;
    this.access = options.access ?? adminsOnly;
    this.logger = options.logger ?? silentLogger();
    this.clock = options.clock ?? Date.now;
  }

  start(): this {
    if (this.timer || this.closed) return this;
    this.timer = setInterval(() => { void this.tick(); }, this.options.intervalMs ?? 2_000);
    this.timer.unref();
    const { clusters } = this.options;
    this.unsubscribe = [
      clusters.onLive((clusterId, live) => { this.targets.set(clusterId, live.client); void this.tick(); }),
      // Back later, perhaps with another kube-apiserver: the CRDs are checked again then.
      clusters.onGone((clusterId) => { this.targets.delete(clusterId); this.crdsApplied.delete(clusterId); this.lastSynced.delete(clusterId); }),
    ];
    void this.tick();
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const off of this.unsubscribe.splice(0)) off();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** One pass: reads the store once, then starts each idle cluster's sync without waiting for the others. */
  async tick(): Promise<void> {
    if (this.closed) return;
    this.stats.ticks++;
    const targets: SyncTarget[] = [...this.targets].map(([id, client]) => ({ id, client }));
    let rowsByCluster: Map<string, TokenRow[]>;
    try {
      rowsByCluster = byCluster(await this.readStore());
    } catch (error) {
      this.logger.warn({ err: error }, 'ace sync could not read the store');
      return;
    }
    for (const target of targets) {
      if (this.inFlight.has(target.id)) continue; // still busy (or hung): its own problem, not the others'
      const tick = this.stats.ticks;
      const run = this.desired(target.id, rowsByCluster.get(target.id) ?? [])
        .then(async (desired) => {
          const fingerprint = fingerprintOf(desired);
          const last = this.lastSynced.get(target.id);
          if (last?.fingerprint === fingerprint && tick - last.tick < verifyEveryTicks) return;
          this.lastSynced.delete(target.id);
          await this.syncCluster(target, desired);
          this.lastSynced.set(target.id, { fingerprint, tick });
        })
        .then(() => {
          this.stats.synced++;
          if (this.lastError.delete(target.id)) this.logger.info({ cluster: target.id }, 'ace sync recovered');
        }, (error: unknown) => {
          this.stats.failed++;
          this.crdsApplied.delete(target.id);
          const message = error instanceof Error ? error.message : String(error);
          if (this.lastError.get(target.id) !== message) this.logger.warn({ cluster: target.id, err: error }, 'ace sync failed; retrying');
          this.lastError.set(target.id, message);
        })
        .finally(() => this.inFlight.delete(target.id));
      this.inFlight.set(target.id, run);
    }
  }

  private async readStore() {
    const now = new Date(this.clock()).toISOString();
    return this.options.tokens.clusterScoped(now);
  }

  /** What `clusterId` should hold, from its own rows of the store's read. */
  private async desired(clusterId: string, rows: readonly TokenRow[]): Promise<DesiredRecords> {
    const tokens = new Map<string, ClusterAuthTokenSpec>();
    const users = new Map<string, ClusterUserAttributeSpec>();
    const allowed = new Map<string, boolean>();
    for (const row of rows) {
      if (!row.hash.startsWith('sha3-512$')) continue;
      const principalIds = parsePrincipals(row.principalIds);
      const groups = groupPrincipalIds(principalIds);
      let ok = allowed.get(row.userId);
      if (ok === undefined) {
        const user: AuthenticatedUser = {
          id: row.userId, username: row.username, displayName: row.displayName, provider: row.provider, principalIds, groups,
          globalRole: row.globalRole, token: { id: row.tokenId, clusterId },
        };
        ok = await this.access.canAccessCluster(user, clusterId);
        allowed.set(row.userId, ok);
      }
      if (!ok) continue;
      tokens.set(row.tokenId, {
        userId: row.userId, clusterId, hash: row.hash, enabled: row.tokenEnabled === 1,
        ...(row.expiresAt ? { expiresAt: row.expiresAt } : {}),
      });
      users.set(row.userId, { userId: row.userId, username: row.username, groups, enabled: row.userEnabled === 1 });
    }
    return { tokens, users };
  }

  private async syncCluster(target: SyncTarget, desired: DesiredRecords): Promise<void> {
    const { client } = target;
    if (!this.crdsApplied.has(target.id)) {
      await this.applyFoundation(target);
      this.crdsApplied.add(target.id);
    }
    const tokensPath = resourcePath(clusterAuthTokens);
    const usersPath = resourcePath(clusterUserAttributes);
    const [observedTokens, observedUsers] = await Promise.all([
      client.list<AceRecord<ClusterAuthTokenSpec>>(tokensPath, { labelSelector: selector }),
      client.list<AceRecord<ClusterUserAttributeSpec>>(usersPath, { labelSelector: selector }),
    ]);
    // Users before tokens on the way in, tokens before users on the way out: a token never points at a missing user.
    await this.converge(client, usersPath, observedUsers, desired.users, (spec) => clusterUserAttribute(spec), 'upsert');
    await this.converge(client, tokensPath, observedTokens, desired.tokens, (spec, name) => clusterAuthToken(spec, name), 'both');
    await this.converge(client, usersPath, observedUsers, desired.users, (spec) => clusterUserAttribute(spec), 'delete');
  }

  private async converge<S>(
    client: KubeClient, collection: string, observed: KubeList<AceRecord<S>>, desired: Map<string, S>,
    render: (spec: S, name: string) => AceRecord<S>, mode: 'upsert' | 'delete' | 'both',
  ): Promise<void> {
    const seen = new Map(observed.items.map((o) => [o.metadata.name, o]));
    if (mode !== 'delete') {
      for (const [name, spec] of desired) {
        const current = seen.get(name);
        if (current && sameJson(current.spec, spec)) continue;
        await client.patch(`${collection}/${name}`, render(spec, name), { type: 'apply', fieldManager, force: true });
        this.stats.writes++;
      }
    }
    if (mode !== 'upsert') {
      for (const name of seen.keys()) {
        if (desired.has(name)) continue;
        try {
          await client.delete(`${collection}/${name}`);
          this.stats.writes++;
        } catch (error) {
          if (!(isKubeApiError(error) && error.status === 404)) throw error;
        }
      }
    }
  }

  /** CRDs and the ConfigMap naming the cluster; re-applied after any failure. */
  private async applyFoundation(target: SyncTarget): Promise<void> {
    for (const crd of aceCrds()) {
      await target.client.patch(resourcePath({ ...resources.customresourcedefinitions, name: crd.metadata.name }), crd, { type: 'apply', fieldManager, force: true });
    }
    const configMap = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: aceConfigMapName, namespace: aceNamespace, labels: { ...managedByLabel } },
      data: { clusterId: target.id },
    };
    await target.client.patch(resourcePath({ ...resources.configmaps, namespace: aceNamespace, name: aceConfigMapName }), configMap, { type: 'apply', fieldManager, force: true });
  }
}

type TokenRow = Awaited<ReturnType<ClusterTokenSource['clusterScoped']>>[number];

/**
 * The store's rows split by cluster, once a tick: each cluster then walks only its
 * own rows (with a thousand clusters, filtering every row for each cluster was a
 * thousand passes over every cluster-scoped token of the server, every 2 s).
 */
function byCluster(rows: readonly TokenRow[]): Map<string, TokenRow[]> {
  const out = new Map<string, TokenRow[]>();
  for (const row of rows) {
    if (row.clusterId === null) continue;
    const own = out.get(row.clusterId);
    if (own) own.push(row);
    else out.set(row.clusterId, [row]);
  }
  return out;
}

function parsePrincipals(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** The same for the same records, whatever order the store returned them in. */
function fingerprintOf(desired: DesiredRecords): string {
  const sorted = <S>(m: Map<string, S>): [string, S][] => [...m].sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(canonical({ tokens: sorted(desired.tokens), users: sorted(desired.users) }));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}
