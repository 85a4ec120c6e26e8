/**
 * Keeps every live cluster's RBAC equal to what Drover's bindings render. One loop
 * per live cluster, level-based: watch caches over Drover-owned ClusterRoles,
 * ClusterRoleBindings and RoleBindings (by label) and over Namespaces (to learn
 * each namespace's project from `field.cattle.io/projectId`); any change there or
 * in the store schedules a debounced pass: `renderClusterRbac` → `planRbac` →
 * writes. A pass with nothing to change makes no API call, so a restart writes
 * nothing. Objects Drover did not label are never touched (planRbac reports them
 * as conflicts). Each loop runs on its own; an unreachable or broken cluster only
 * fails its own passes, retried with backoff.
 *
 * Users, level-based too: every pass lists the users holding an impersonation
 * account on the cluster (the labelled ClusterRoles, so a restart forgets
 * nothing) plus the users with a direct binding or global admin role (who get
 * theirs before their first request). Each one who still may use the cluster
 * (directly or through a group binding) gets `accounts.ensure` with the current
 * identity, which rewrites a role whose groups or extras drifted; everyone else
 * gets `accounts.remove`. Group members get theirs from the proxy on first use.
 */
import type { ClusterControllers, ClusterService } from '../clusters/index.ts';
import { isKubeApiError, resourcePath, resources, WatchCache, type KubeClient, type KubeObject, type Namespace, type ResourceRef } from '../kube/index.ts';
import type { Logger } from '../logging/index.ts';
import type { AccessService, ProjectRecord } from './access-service.ts';
import { defaultPlacements } from './namespace-placement.ts';
import { ownedSelector } from '../downstream/index.ts';
import type { ImpersonationAccounts } from '../impersonation/index.ts';
import { planRbac, type ObjectRef, type ObservedRbacObject } from './rbac-plan.ts';
import { renderClusterRbac, type RenderOptions } from './rbac-render.ts';
import type { GlobalRole } from '../identity/index.ts';
import type { Project, UserIdentity } from './types.ts';
import { DroverError } from '../errors/index.ts';

export const PROJECT_ANNOTATION = 'field.cattle.io/projectId';

/** What the reconciler needs to know about a user: the identity to render and whether it may act at all. */
export interface ReconciledUser extends UserIdentity { globalRole: GlobalRole; enabled: boolean }

export interface RbacReconcilerOptions {
  access: AccessService;
  clusters: ClusterService;
  controllers: ClusterControllers;
  accounts: ImpersonationAccounts;
  /** Looks a user up for `accounts.ensure` (groups from its principal ids, as tokens carry them); undefined when gone. */
  lookupUser: (userId: string) => Promise<ReconciledUser | undefined>;
  logger: Logger;
  /** How often live clusters are looked for (default 1 s). */
  discoverMs?: number;
  /** Quiet time before a pass after a change (default 150 ms). */
  debounceMs?: number;
  /** A full pass even without events (default 5 min). */
  resyncMs?: number;
  render?: RenderOptions;
}

/** What one cluster's loop did, for tests, metrics and the benchmark. */
export interface ReconcileStats { passes: number; writes: number; failures: number; lastPassAt?: string; lastError?: string; synced: boolean }

type RbacKind = ObservedRbacObject['kind'];
const rbacRef = (kind: RbacKind): ResourceRef => (kind === 'ClusterRole' ? resources.clusterroles : kind === 'ClusterRoleBinding' ? resources.clusterrolebindings : resources.rolebindings);

/** Which project of `clusterId` a namespace's annotation names, if any. */
export function namespaceProject(ns: Namespace, clusterId: string): string | undefined {
  const value = ns.metadata.annotations?.[PROJECT_ANNOTATION];
  if (!value || ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') return undefined;
  const [cluster, project, ...rest] = value.split(':');
  return cluster === clusterId && project && rest.length === 0 ? project : undefined;
}

export class RbacReconciler {
  private readonly loops = new Map<string, ClusterLoop>();
  private readonly timer: NodeJS.Timeout;
  private readonly offChange: () => void;
  private discovering = false;
  private closed = false;

  constructor(private readonly options: RbacReconcilerOptions) {
    this.offChange = options.access.onChange((clusterId) => {
      if (clusterId === undefined) this.scheduleAll();
      else this.loops.get(clusterId)?.schedule();
    });
    this.timer = setInterval(() => void this.discover(), options.discoverMs ?? 1000);
    this.timer.unref();
    void this.discover();
  }

  /** Schedules a pass on every live cluster (a user changed: their accounts follow). */
  scheduleAll(): void {
    for (const loop of this.loops.values()) loop.schedule();
  }

  /** Stats of the loop of one cluster, while it is live. */
  stats(clusterId: string): ReconcileStats | undefined {
    return this.loops.get(clusterId)?.stats();
  }

  /** Resolves after the cluster's loop finished a pass that found nothing to change (or rejects on timeout). */
  async settled(clusterId: string, timeoutMs = 30_000): Promise<ReconcileStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.loops.get(clusterId)?.idleStats();
      if (s) return s;
      if (Date.now() > deadline) throw new Error(`cluster ${clusterId} did not settle within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async discover(): Promise<void> {
    if (this.discovering || this.closed) return;
    this.discovering = true;
    try {
      const { clusters, controllers, access } = this.options;
      const known = await clusters.list();
      const ids = new Set(known.map((c) => c.id));
      for (const cluster of known) {
        await access.ensureDefaultProjects(cluster.id);
        // Only the cluster's owner reconciles it (replicas: one writer per cluster).
        const live = controllers.owned(cluster.id);
        const loop = this.loops.get(cluster.id);
        if (loop && loop.client === live?.client) continue;
        if (loop) { this.loops.delete(cluster.id); void loop.close(); }
        if (live && !this.closed) this.loops.set(cluster.id, new ClusterLoop(cluster.id, live.client, this.options));
      }
      for (const [id, loop] of this.loops) {
        if (!ids.has(id)) { this.loops.delete(id); access.forgetCluster(id); void loop.close(); }
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not look for live clusters');
    } finally {
      this.discovering = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.offChange();
    const loops = [...this.loops.values()];
    this.loops.clear();
    await Promise.all(loops.map((l) => l.close()));
  }
}

class ClusterLoop {
  private readonly caches: Record<RbacKind, WatchCache<KubeObject>>;
  private readonly namespaces: WatchCache<Namespace>;
  private readonly logger: Logger;
  private readonly counters: ReconcileStats = { passes: 0, writes: 0, failures: 0, synced: false };
  private debounce: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private readonly resync: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private dirty = false;
  private failures = 0;
  private closed = false;

  constructor(private readonly clusterId: string, readonly client: KubeClient, private readonly options: RbacReconcilerOptions) {
    this.logger = options.logger.child({ component: 'rbac-reconciler', cluster: clusterId });
    const labelSelector = ownedSelector('rbac');
    const cache = (kind: RbacKind): WatchCache<KubeObject> =>
      new WatchCache<KubeObject>({ source: client, path: resourcePath(rbacRef(kind)), labelSelector, logger: this.logger });
    this.caches = { ClusterRole: cache('ClusterRole'), ClusterRoleBinding: cache('ClusterRoleBinding'), RoleBinding: cache('RoleBinding') };
    this.namespaces = new WatchCache<Namespace>({ source: client, path: resourcePath(resources.namespaces), logger: this.logger });
    for (const c of [...Object.values(this.caches), this.namespaces]) {
      c.onEvent(() => { if (this.counters.synced) this.schedule(); });
      c.start();
    }
    this.resync = setInterval(() => this.schedule(), options.resyncMs ?? 300_000);
    this.resync.unref();
    void this.waitAndStart();
  }

  private async waitAndStart(): Promise<void> {
    try {
      await Promise.all([...Object.values(this.caches), this.namespaces].map((c) => c.waitForSync(AbortSignal.timeout(60_000))));
      this.counters.synced = true;
      this.schedule(0);
    } catch (error) {
      if (this.closed) return;
      this.logger.warn({ err: error }, 'rbac caches did not sync; retrying');
      this.retry = setTimeout(() => void this.waitAndStart(), 5_000);
      this.retry.unref();
    }
  }

  stats(): ReconcileStats { return { ...this.counters }; }

  /** Stats when no pass is due or running and the last one succeeded. */
  idleStats(): ReconcileStats | undefined {
    const idle = this.counters.synced && this.counters.passes > 0 && !this.running && !this.dirty && this.debounce === undefined && this.failures === 0;
    return idle ? this.stats() : undefined;
  }

  schedule(delayMs = this.options.debounceMs ?? 150): void {
    if (this.closed || !this.counters.synced) return;
    if (this.running) { this.dirty = true; return; }
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => { this.debounce = undefined; this.run(); }, delayMs);
    this.debounce.unref();
  }

  private run(): void {
    if (this.closed) return;
    this.running = this.pass()
      .then(() => { this.failures = 0; })
      .catch((error: unknown) => {
        this.failures += 1;
        this.counters.failures += 1;
        this.counters.lastError = error instanceof Error ? error.message : String(error);
        this.logger.warn({ err: error, failures: this.failures }, 'rbac reconcile pass failed; retrying');
        const backoff = Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6));
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.schedule(0), backoff);
        this.retry.unref();
      })
      .finally(() => {
        this.running = undefined;
        if (this.dirty) { this.dirty = false; this.schedule(); }
      });
  }

  private async pass(): Promise<void> {
    const { access } = this.options;
    const [catalog, projectRecords, clusterBindings, projectBindings, globalAdmins] = await Promise.all([
      access.catalog(), access.listProjects(this.clusterId), access.clusterBindings(this.clusterId), access.projectBindings(this.clusterId),
      access.globalAdmins(),
    ]);
    const placed = await this.placeDefaults(projectRecords);
    const byProject = new Map<string, string[]>();
    for (const ns of this.namespaces.list()) {
      const project = namespaceProject(ns, this.clusterId);
      if (project && ns.metadata.name) byProject.set(project, [...(byProject.get(project) ?? []), ns.metadata.name]);
    }
    const projects: Project[] = projectRecords.map((p) => ({ id: p.id, clusterId: p.clusterId, name: p.name, namespaces: (byProject.get(p.id) ?? []).sort() }));
    const desired = renderClusterRbac({ clusterId: this.clusterId, catalog, projects, clusterBindings, projectBindings, globalAdmins }, this.options.render);
    const observed: ObservedRbacObject[] = [];
    for (const [kind, cache] of Object.entries(this.caches) as [RbacKind, WatchCache<KubeObject>][]) {
      for (const o of cache.list()) observed.push({ ...(o as unknown as Omit<ObservedRbacObject, 'kind'>), kind });
    }
    const plan = planRbac(desired, observed);
    let writes = placed;
    let raced = 0;
    // Deletes first: a binding whose roleRef changed is deleted and created again under the same name.
    for (const ref of plan.delete) { await this.remove(ref); writes += 1; }
    for (const o of plan.create) { raced += await this.write('create', o); writes += 1; }
    for (const o of plan.update) { raced += await this.write('update', o); writes += 1; }
    this.counters.passes += 1;
    this.counters.writes += writes;
    this.counters.lastPassAt = new Date().toISOString();
    if (this.counters.passes === 1) {
      // Tests and operators read this: after a restart with nothing changed, writes is 0.
      this.logger.info({ writes, observed: observed.length }, 'rbac first pass done');
    }
    if (writes > 0 || plan.conflicts.length > 0 || desired.skipped.length > 0) {
      this.logger.info({
        creates: plan.create.length, updates: plan.update.length, deletes: plan.delete.length,
        conflicts: plan.conflicts.map((c) => `${c.kind}/${c.namespace ? `${c.namespace}/` : ''}${c.name}`).slice(0, 10),
        skipped: desired.skipped.slice(0, 10),
      }, 'rbac reconciled');
    }
    await this.syncAccounts([...globalAdmins, ...[...clusterBindings, ...projectBindings].flatMap((b) => (b.subject.kind === 'user' ? [b.subject.userId] : []))]);
    // A lagging cache, or an object whose Drover labels someone removed (the label-selected cache cannot
    // see it, so it cannot be a reported conflict): retry with backoff, never in a tight loop.
    if (raced > 0) throw new Error(`${raced} write(s) found the object already there or gone; an object may have lost its Drover labels`);
  }

  /**
   * Annotates `default` and Kubernetes' own namespaces into the Default and System
   * projects when they belong to none (namespace-placement.ts). The watch sees the
   * change and schedules the pass that renders their bindings. Returns the writes.
   */
  private async placeDefaults(projects: ProjectRecord[]): Promise<number> {
    const placements = defaultPlacements(this.namespaces.list(), projects, this.clusterId, PROJECT_ANNOTATION);
    for (const p of placements) {
      try {
        await this.client.patch(resourcePath({ ...resources.namespaces, name: p.namespace }), { metadata: { annotations: { [PROJECT_ANNOTATION]: p.annotation } } }, { type: 'merge' });
      } catch (error) {
        // Deleted meanwhile: nothing to place.
        if (!(isKubeApiError(error) && error.status === 404)) throw error;
      }
    }
    if (placements.length > 0) this.logger.info({ namespaces: placements.map((p) => p.namespace) }, 'placed namespaces into their default projects');
    return placements.length;
  }

  /** Writes one object; 1 when the write raced the cache (409/404, or 403 in a terminating namespace), else 0. */
  private async write(op: 'create' | 'update', object: ObservedRbacObject & { apiVersion: string }): Promise<number> {
    const ns = object.kind === 'RoleBinding' ? object.metadata.namespace : undefined;
    const base = { ...rbacRef(object.kind), ...(ns ? { namespace: ns } : {}) };
    try {
      if (op === 'create') await this.client.create(resourcePath(base), object, { fieldManager: 'drover' });
      else await this.client.replace(resourcePath({ ...base, name: object.metadata.name }), object, { fieldManager: 'drover' });
      return 0;
    } catch (error) {
      if (isKubeApiError(error) && (error.status === 409 || error.status === 404 || (error.status === 403 && ns !== undefined))) return 1;
      throw error;
    }
  }

  private async remove(ref: ObjectRef): Promise<void> {
    const path = resourcePath({ ...rbacRef(ref.kind), ...(ref.namespace ? { namespace: ref.namespace } : {}), name: ref.name });
    try {
      await this.client.delete(path);
    } catch (error) {
      if (!(isKubeApiError(error) && error.status === 404)) throw error;
    }
  }

  /**
   * Ensures impersonation accounts for everyone who may use the cluster and holds one or
   * should (direct binding, global admin), and removes the rest. A user whose identity
   * cannot be rendered is logged and skipped, so one bad record does not stall the others.
   */
  private async syncAccounts(direct: string[]): Promise<void> {
    const { accounts, access, lookupUser } = this.options;
    const held = new Set(await accounts.holders(this.clusterId));
    const wanted = new Set(direct);
    for (const id of new Set([...wanted, ...held])) {
      const user = await lookupUser(id);
      const keep = user !== undefined && user.enabled && (wanted.has(id) || await access.canAccessCluster(user, this.clusterId));
      if (!keep) {
        if (held.has(id)) await accounts.remove(this.clusterId, id);
        continue;
      }
      const { globalRole: _role, enabled: _enabled, ...identity } = user;
      try {
        await accounts.ensure(this.clusterId, identity);
      } catch (error) {
        if (!(error instanceof DroverError && error.code === 'DRV_ERR_UNPROCESSABLE')) throw error;
        this.logger.warn({ err: error, user: id }, 'skipping an impersonation account: the user\'s identity cannot be sent as headers');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.debounce);
    clearTimeout(this.retry);
    clearInterval(this.resync);
    await this.running?.catch(() => undefined);
    await Promise.all([...Object.values(this.caches), this.namespaces].map((c) => c.close()));
  }
}
