/**
 * The store-backed side of the access model: custom role templates, projects and
 * the two kinds of bindings, all kept in memory after one load so the proxy's
 * `ClusterMembership` checks and the reconciler's renders never query the
 * database. Every change writes the database first and the memory after, then
 * tells listeners which cluster changed (the reconciler re-renders it).
 *
 * It also keeps the set of enabled global admins (read once from the users table,
 * then kept current by `userChanged`, which the identity folder's user service
 * calls after every commit), so a reconcile pass renders `globaladmin-<userId>`
 * without a query. A change to the set tells listeners "every cluster".
 *
 * Replicas: every write here is published on the change feed (`bindings` with the
 * cluster id, `role_templates`); another replica's event re-reads that cluster
 * (`reloadCluster`) or everything (`reloadAll`, also the feed's periodic safety net),
 * and listeners hear of what actually differs. A re-read that overlapped a write made
 * here reads again, so it never puts back what the write replaced.
 *
 * Refuses: an invalid catalog (validated as a whole on every change), bindings to
 * locked templates or templates of the wrong context, deleting a template that
 * bindings or other templates still use, projects with a taken name, and deleting
 * the Default and System projects.
 */
import type { Kysely } from 'kysely';
import { LocalChangeFeed, type ChangePublisher } from '../coordination/index.ts';
import { activeAdminIds, type AuthenticatedUser } from '../identity/index.ts';
import { DroverError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { randomId } from '../tokens/index.ts';
import type { Database } from '../store/index.ts';
import { ALL_RULES, rulesHeld, type GrantScope } from './escalation-guard.ts';
import { covers } from './covers.ts';
import { RoleTemplateCatalog } from './role-template-catalog.ts';
import type {
  BindingSubject, ClusterRoleTemplateBinding, PolicyRule, ProjectRoleTemplateBinding, RoleTemplate,
} from './types.ts';

/** Who may see and use which cluster; the proxy asks on every request (memory only). */
export interface ClusterMembership {
  canAccessCluster(user: Member, clusterId: string): Promise<boolean>;
  visibleClusterIds(user: AuthenticatedUser): Promise<Set<string> | 'all'>;
}

/** What the admin set needs to know about a user after a change; undefined when the user was deleted. */
export interface UserAccessFacts { globalRole: 'admin' | 'user'; enabled: boolean }

/** A project as the store keeps it; its namespaces come from the cluster's annotations. */
export interface ProjectRecord { id: string; clusterId: string; name: string; createdAt: string }

export const DEFAULT_PROJECTS = ['Default', 'System'] as const;
const PROJECT_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_. ]{0,61}[A-Za-z0-9])?$/;
const MAX_PRINCIPAL = 512;

const userKey = (userId: string): string => `user:${userId}`;
const groupKey = (principalId: string): string => `group:${principalId}`;
const subjectKey = (s: BindingSubject): string => (s.kind === 'user' ? userKey(s.userId) : groupKey(s.principalId));
const subjectParts = (s: BindingSubject): { subject_kind: 'user' | 'group'; subject: string } =>
  (s.kind === 'user' ? { subject_kind: 'user', subject: s.userId } : { subject_kind: 'group', subject: s.principalId });
const toSubject = (kind: 'user' | 'group', value: string): BindingSubject =>
  (kind === 'user' ? { kind: 'user', userId: value } : { kind: 'group', principalId: value });

/** The user's keys in the membership index: their id and their group principals. */
/** Who a membership question is about: a caller, or a user the reconciler looked up. */
export type Member = Pick<AuthenticatedUser, 'id' | 'groups' | 'globalRole'>;

/** One cluster's projects and bindings as the store has them. */
interface ClusterState {
  projects: ProjectRecord[];
  clusterBindings: ClusterRoleTemplateBinding[];
  projectBindings: ProjectRoleTemplateBinding[];
}

/** Everything this service holds, as read from the store. */
interface Snapshot { catalog: RoleTemplateCatalog; clusters: Map<string, ClusterState>; admins: Set<string> }

const emptyState = (): ClusterState => ({ projects: [], clusterBindings: [], projectBindings: [] });

/** A comparable digest of one cluster's state, so a re-read tells listeners only of what differs. */
const stateKey = (state: ClusterState): string => JSON.stringify([
  state.projects.map((p) => [p.id, p.name]).sort(),
  state.clusterBindings.map((b) => [b.id, b.roleTemplate, subjectKey(b.subject)]).sort(),
  state.projectBindings.map((b) => [b.id, b.projectId, b.roleTemplate, subjectKey(b.subject)]).sort(),
]);

/** Whether subject keys name the caller, directly or through a group; builds no key list (the proxy asks on every request). */
const namesCaller = (keys: ReadonlySet<string>, user: Member): boolean => keys.has(userKey(user.id)) || user.groups.some((g) => keys.has(groupKey(g)));

export class AccessService implements ClusterMembership {
  private catalogValue = RoleTemplateCatalog.withBuiltins();
  private readonly projects = new Map<string, ProjectRecord>();
  private readonly clusterBindingsById = new Map<string, ClusterRoleTemplateBinding>();
  private readonly projectBindingsById = new Map<string, ProjectRoleTemplateBinding>();
  /** clusterId → subject keys with any binding there. Rebuilt per cluster on every change. */
  private readonly members = new Map<string, Set<string>>();
  /** Ids of the enabled users whose global role is admin. */
  private readonly admins = new Set<string>();
  private readonly listeners = new Set<(clusterId: string | undefined) => void>();
  /** Counts removals and changes of bindings, anywhere: a mark an open stream compares with (`lostSince`). */
  private epoch = 0;
  /** `cluster \0 subject key` → the epoch at which a binding naming that subject there was last removed or changed. */
  private readonly lostAt = new Map<string, number>();
  /** clusterId → binding id → what it granted to whom, as last indexed, so a change shows what it took away. */
  private readonly grants = new Map<string, Map<string, string>>();
  private readonly ready: Promise<void>;
  /** Set once `ready` has resolved: from then on membership answers without a promise. */
  private loaded = false;
  /** Writes made here so far; see readStable. */
  private writes = 0;

  constructor(private readonly db: Kysely<Database>, private readonly logger: Logger, private readonly changes: ChangePublisher = new LocalChangeFeed()) {
    this.ready = this.load();
    // A failed load is reported by every later call; keep the rejection handled meanwhile.
    this.ready.catch((error: unknown) => logger.error({ err: error }, 'could not load access state'));
  }

  private async load(): Promise<void> {
    this.apply(await this.readAll(), undefined);
    this.loaded = true;
  }

  /** Reads everything this service holds. */
  private async readAll(): Promise<Snapshot> {
    const custom = await this.db.selectFrom('role_templates').select(['body']).execute();
    const catalog = RoleTemplateCatalog.withBuiltins(custom.map((r) => JSON.parse(r.body) as RoleTemplate));
    return { catalog, clusters: await this.readClusters(undefined), admins: new Set(await activeAdminIds(this.db)) };
  }

  /** Projects and bindings by cluster: of one cluster, or (undefined) of all. */
  private async readClusters(clusterId: string | undefined): Promise<Map<string, ClusterState>> {
    const out = new Map<string, ClusterState>();
    const of = (id: string): ClusterState => {
      let state = out.get(id);
      if (!state) out.set(id, state = emptyState());
      return state;
    };
    let projects = this.db.selectFrom('projects').selectAll();
    let clusterBindings = this.db.selectFrom('cluster_role_bindings').selectAll();
    let projectBindings = this.db.selectFrom('project_role_bindings').selectAll();
    if (clusterId !== undefined) {
      projects = projects.where('cluster_id', '=', clusterId);
      clusterBindings = clusterBindings.where('cluster_id', '=', clusterId);
      projectBindings = projectBindings.where('cluster_id', '=', clusterId);
    }
    for (const p of await projects.execute()) of(p.cluster_id).projects.push({ id: p.id, clusterId: p.cluster_id, name: p.name, createdAt: p.created_at });
    for (const b of await clusterBindings.execute()) {
      of(b.cluster_id).clusterBindings.push({ id: b.id, clusterId: b.cluster_id, roleTemplate: b.role_template, subject: toSubject(b.subject_kind, b.subject) });
    }
    for (const b of await projectBindings.execute()) {
      of(b.cluster_id).projectBindings.push({
        id: b.id, clusterId: b.cluster_id, projectId: b.project_id, roleTemplate: b.role_template, subject: toSubject(b.subject_kind, b.subject),
      });
    }
    return out;
  }

  /** One cluster's state as held in memory now. */
  private stateOf(clusterId: string): ClusterState {
    return {
      projects: [...this.projects.values()].filter((p) => p.clusterId === clusterId),
      clusterBindings: [...this.clusterBindingsById.values()].filter((b) => b.clusterId === clusterId),
      projectBindings: [...this.projectBindingsById.values()].filter((b) => b.clusterId === clusterId),
    };
  }

  /** Puts one cluster's state in memory; true when it differs from what was there. */
  private replaceCluster(clusterId: string, state: ClusterState): boolean {
    const before = stateKey(this.stateOf(clusterId));
    this.forgetCluster(clusterId);
    for (const p of state.projects) this.projects.set(p.id, p);
    for (const b of state.clusterBindings) this.clusterBindingsById.set(b.id, b);
    for (const b of state.projectBindings) this.projectBindingsById.set(b.id, b);
    this.reindex(clusterId);
    return stateKey(state) !== before;
  }

  /** Puts a whole snapshot in memory, telling listeners of what differs (nothing on the first load). */
  private apply(snapshot: Snapshot, notify: ((clusterId: string | undefined) => void) | undefined): void {
    const catalogChanged = JSON.stringify(snapshot.catalog.list()) !== JSON.stringify(this.catalogValue.list());
    this.catalogValue = snapshot.catalog;
    const adminsChanged = snapshot.admins.size !== this.admins.size || [...snapshot.admins].some((a) => !this.admins.has(a));
    this.admins.clear();
    for (const a of snapshot.admins) this.admins.add(a);
    const clusterIds = new Set([...snapshot.clusters.keys(), ...[...this.projects.values()].map((p) => p.clusterId), ...this.members.keys()]);
    const changed = [...clusterIds].filter((id) => this.replaceCluster(id, snapshot.clusters.get(id) ?? emptyState()));
    if (!notify) return;
    if (catalogChanged || adminsChanged) notify(undefined);
    else for (const id of changed) notify(id);
  }

  /**
   * Reads until no write of this process overlapped the read: a write counts `writes`
   * in the same step that updates memory, so a read that saw the count unchanged is
   * at least as new as memory.
   */
  private async readStable<T>(read: () => Promise<T>): Promise<T> {
    for (;;) {
      const writes = this.writes;
      const value = await read();
      if (writes === this.writes) return value;
    }
  }

  /** Another replica changed this cluster's projects or bindings: read them again. */
  async reloadCluster(clusterId: string): Promise<void> {
    await this.ready;
    const state = await this.readStable(() => this.readClusters(clusterId));
    if (this.replaceCluster(clusterId, state.get(clusterId) ?? emptyState())) this.changed(clusterId);
  }

  /** Reads everything again (another replica's template change, the change feed's periodic re-read). */
  async reloadAll(): Promise<void> {
    await this.ready;
    const snapshot = await this.readStable(() => this.readAll());
    this.apply(snapshot, (clusterId) => this.changed(clusterId));
  }

  /** Resolves once the store has been read; a failed load rejects. */
  whenReady(): Promise<void> { return this.ready; }

  /** Called with the cluster whose access state changed, or undefined for every cluster (the catalog changed). */
  onChange(listener: (clusterId: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A write made here committed and memory holds it: other replicas re-read it, listeners here hear of it. */
  private committed(event: { table: 'bindings'; clusterId: string } | { table: 'role_templates'; name: string }): void {
    this.writes++;
    this.changes.publish(event.table === 'bindings' ? { table: 'bindings', key: event.clusterId } : { table: 'role_templates', key: event.name });
    this.changed(event.table === 'bindings' ? event.clusterId : undefined);
  }

  private changed(clusterId: string | undefined): void {
    for (const l of this.listeners) {
      try { l(clusterId); } catch (error) { this.logger.warn({ err: error }, 'access change listener failed'); }
    }
  }

  private reindex(clusterId: string): void {
    const keys = new Set<string>();
    const grants = new Map<string, string>();
    for (const b of this.clusterBindingsById.values()) {
      if (b.clusterId === clusterId) grants.set(b.id, `${subjectKey(b.subject)}\u0000${b.roleTemplate}`);
    }
    for (const b of this.projectBindingsById.values()) {
      if (b.clusterId === clusterId) grants.set(b.id, `${subjectKey(b.subject)}\u0000${b.roleTemplate}\u0000${b.projectId}`);
    }
    for (const grant of grants.values()) keys.add(grant.split('\u0000', 1)[0] ?? '');
    for (const [id, grant] of this.grants.get(clusterId) ?? []) {
      if (grants.get(id) !== grant) this.lostAt.set(`${clusterId}\u0000${grant.split('\u0000', 1)[0] ?? ''}`, ++this.epoch);
    }
    this.grants.set(clusterId, grants);
    if (keys.size === 0) this.members.delete(clusterId);
    else this.members.set(clusterId, keys);
  }

  /** Now, as `lostSince` counts: taken when a stream opens. */
  accessEpoch(): number {
    return this.epoch;
  }

  /**
   * Whether a binding that named the user or one of these groups in the cluster was removed or
   * changed after `epoch`. An open stream was authorized by the bindings of its opening; one of
   * them gone, the stream may be one the user can no longer open (a project left while another
   * keeps them a member), so the proxy ends it and the client, opening it again, is judged anew.
   */
  lostSince(user: Member, clusterId: string, epoch: number): boolean {
    const after = (key: string): boolean => (this.lostAt.get(`${clusterId}\u0000${key}`) ?? 0) > epoch;
    return after(userKey(user.id)) || user.groups.some((g) => after(groupKey(g)));
  }

  // ---- membership (hot path: memory only) ----

  async canAccessCluster(user: Member, clusterId: string): Promise<boolean> {
    const now = this.canAccessClusterNow(user, clusterId);
    if (now !== undefined) return now;
    await this.ready;
    return this.canAccessClusterNow(user, clusterId) === true;
  }

  /**
   * `canAccessCluster` without a promise, for the proxy's every request; undefined
   * until the state is loaded (then only `canAccessCluster` can answer).
   */
  canAccessClusterNow(user: Member, clusterId: string): boolean | undefined {
    if (user.globalRole === 'admin') return true;
    if (!this.loaded) return undefined;
    const keys = this.members.get(clusterId);
    return keys !== undefined && namesCaller(keys, user);
  }

  async visibleClusterIds(user: AuthenticatedUser): Promise<Set<string> | 'all'> {
    if (user.globalRole === 'admin') return 'all';
    await this.ready;
    const ids = new Set<string>();
    for (const [clusterId, keys] of this.members) if (namesCaller(keys, user)) ids.add(clusterId);
    return ids;
  }

  /** Whether `user` holds `rule` in the whole of `scope` (a cluster, or a project of it) through Drover's bindings. */
  async holds(user: AuthenticatedUser, scope: GrantScope, rule: PolicyRule): Promise<boolean> {
    return covers(await this.rulesOf(user, scope), [rule]).covered;
  }

  /** The rules `user` holds in `scope` (admins hold everything). */
  async rulesOf(user: AuthenticatedUser, scope: GrantScope): Promise<readonly PolicyRule[]> {
    if (user.globalRole === 'admin') return ALL_RULES;
    await this.ready;
    return rulesHeld({ userId: user.id, groupPrincipalIds: user.groups }, scope, {
      catalog: this.catalogValue, clusterBindings: [...this.clusterBindingsById.values()], projectBindings: [...this.projectBindingsById.values()],
    });
  }

  // ---- global admins ----

  /** Ids of the enabled global admins, sorted; each gets `globaladmin-<userId>` in every cluster. */
  async globalAdmins(): Promise<string[]> {
    await this.ready;
    return [...this.admins].sort();
  }

  /**
   * Tells the service a user was created, changed or (with `facts` undefined) deleted.
   * Applied after the initial load, in call order; listeners hear of it (every
   * cluster) only when the admin set changed.
   */
  async userChanged(userId: string, facts: UserAccessFacts | undefined): Promise<void> {
    await this.ready;
    const admin = facts?.globalRole === 'admin' && facts.enabled;
    if (admin === this.admins.has(userId)) return;
    if (admin) this.admins.add(userId);
    else this.admins.delete(userId);
    this.changed(undefined);
  }

  // ---- role templates ----

  async catalog(): Promise<RoleTemplateCatalog> {
    await this.ready;
    return this.catalogValue;
  }

  /** Adds a custom template; the whole catalog is re-validated first. */
  async createRoleTemplate(input: Omit<RoleTemplate, 'builtin'>): Promise<RoleTemplate> {
    await this.ready;
    if (this.catalogValue.get(input.name)) throw new DroverError('DRV_ERR_CONFLICT', `role template "${input.name}" exists; delete it first or pick another name`);
    const template: RoleTemplate = { ...input, builtin: false };
    const next = this.catalogValue.with(template);
    const now = new Date().toISOString();
    await this.db.insertInto('role_templates').values({ name: template.name, body: JSON.stringify(template), created_at: now, updated_at: now }).execute();
    this.catalogValue = next;
    this.committed({ table: 'role_templates', name: template.name });
    return next.get(template.name) ?? template;
  }

  /** Deletes a custom template that no binding and no other template uses. */
  async deleteRoleTemplate(name: string): Promise<RoleTemplate> {
    await this.ready;
    const existing = this.catalogValue.get(name);
    const next = this.catalogValue.without(name);
    const inUse = [...this.clusterBindingsById.values(), ...this.projectBindingsById.values()].filter((b) => b.roleTemplate === name).length;
    if (inUse > 0) throw new DroverError('DRV_ERR_CONFLICT', `role template "${name}" is used by ${inUse} binding(s); remove them first ("drover members remove ... --role ${name}")`);
    await this.db.deleteFrom('role_templates').where('name', '=', name).execute();
    this.catalogValue = next;
    this.committed({ table: 'role_templates', name });
    if (!existing) throw new DroverError('DRV_ERR_NOT_FOUND', `no role template "${name}"`);
    return existing;
  }

  // ---- projects ----

  /** Creates the Default and System projects of a cluster when missing. Idempotent. */
  async ensureDefaultProjects(clusterId: string): Promise<void> {
    await this.ready;
    for (const name of DEFAULT_PROJECTS) {
      if ([...this.projects.values()].some((p) => p.clusterId === clusterId && p.name === name)) continue;
      await this.createProject(clusterId, name).catch((error: unknown) => {
        // A concurrent creator or a cluster deleted meanwhile: the next pass looks again.
        this.logger.warn({ cluster: clusterId, project: name, err: error }, 'could not create a default project');
      });
    }
  }

  async listProjects(clusterId: string): Promise<ProjectRecord[]> {
    await this.ready;
    return [...this.projects.values()].filter((p) => p.clusterId === clusterId).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A project of `clusterId` by id or name. */
  async getProject(clusterId: string, idOrName: string): Promise<ProjectRecord> {
    await this.ready;
    const found = [...this.projects.values()].find((p) => p.clusterId === clusterId && (p.id === idOrName || p.name === idOrName));
    if (!found) throw new DroverError('DRV_ERR_NOT_FOUND', `no project "${idOrName}" in this cluster; see "drover projects list CLUSTER"`);
    return found;
  }

  async createProject(clusterId: string, name: string): Promise<ProjectRecord> {
    await this.ready;
    if (!PROJECT_NAME.test(name)) throw new DroverError('DRV_ERR_INVALID_ARGUMENT', 'a project name is 1-63 letters, digits, "-", "_", "." or spaces, starting and ending with a letter or digit');
    if ([...this.projects.values()].some((p) => p.clusterId === clusterId && p.name === name)) {
      throw new DroverError('DRV_ERR_CONFLICT', `project "${name}" exists in this cluster`);
    }
    const project: ProjectRecord = { id: randomId('p-', 8), clusterId, name, createdAt: new Date().toISOString() };
    await this.db.insertInto('projects').values({ id: project.id, cluster_id: clusterId, name, created_at: project.createdAt }).execute();
    this.projects.set(project.id, project);
    this.committed({ table: 'bindings', clusterId });
    return project;
  }

  // ---- bindings ----

  async clusterBindings(clusterId: string): Promise<ClusterRoleTemplateBinding[]> {
    await this.ready;
    return [...this.clusterBindingsById.values()].filter((b) => b.clusterId === clusterId);
  }

  async projectBindings(clusterId: string, projectId?: string): Promise<ProjectRoleTemplateBinding[]> {
    await this.ready;
    return [...this.projectBindingsById.values()].filter((b) => b.clusterId === clusterId && (projectId === undefined || b.projectId === projectId));
  }

  /** Binds `roleTemplate` on a cluster, or on one of its projects. The caller checked the granter's rights. */
  async addBinding(input: { clusterId: string; projectId?: string; roleTemplate: string; subject: BindingSubject }): Promise<ClusterRoleTemplateBinding | ProjectRoleTemplateBinding> {
    await this.ready;
    checkSubject(input.subject);
    this.catalogValue.assertBindable(input.roleTemplate, input.projectId === undefined ? 'cluster' : 'project');
    const key = subjectKey(input.subject);
    const now = new Date().toISOString();
    const { projectId } = input;
    if (projectId === undefined) {
      const dup = [...this.clusterBindingsById.values()].find((b) => b.clusterId === input.clusterId && b.roleTemplate === input.roleTemplate && subjectKey(b.subject) === key);
      if (dup) throw new DroverError('DRV_ERR_CONFLICT', 'this member already has that role on the cluster');
      const binding: ClusterRoleTemplateBinding = { id: randomId('crtb-', 10), clusterId: input.clusterId, roleTemplate: input.roleTemplate, subject: input.subject };
      await this.db.insertInto('cluster_role_bindings').values({
        id: binding.id, cluster_id: binding.clusterId, role_template: binding.roleTemplate, ...subjectParts(binding.subject), created_at: now,
      }).execute();
      this.clusterBindingsById.set(binding.id, binding);
      this.reindex(input.clusterId);
      this.committed({ table: 'bindings', clusterId: input.clusterId });
      return binding;
    }
    const project = this.projects.get(projectId);
    if (project?.clusterId !== input.clusterId) throw new DroverError('DRV_ERR_NOT_FOUND', `no project "${projectId}" in this cluster`);
    const dup = [...this.projectBindingsById.values()].find((b) => b.projectId === projectId && b.roleTemplate === input.roleTemplate && subjectKey(b.subject) === key);
    if (dup) throw new DroverError('DRV_ERR_CONFLICT', 'this member already has that role on the project');
    const binding: ProjectRoleTemplateBinding = { id: randomId('prtb-', 10), clusterId: input.clusterId, projectId, roleTemplate: input.roleTemplate, subject: input.subject };
    await this.db.insertInto('project_role_bindings').values({
      id: binding.id, cluster_id: binding.clusterId, project_id: projectId, role_template: binding.roleTemplate, ...subjectParts(binding.subject), created_at: now,
    }).execute();
    this.projectBindingsById.set(binding.id, binding);
    this.reindex(input.clusterId);
    this.committed({ table: 'bindings', clusterId: input.clusterId });
    return binding;
  }

  /** Removes bindings by id (all of one cluster). */
  async removeBindings(clusterId: string, ids: readonly string[]): Promise<void> {
    await this.ready;
    if (ids.length === 0) return;
    await this.db.deleteFrom('cluster_role_bindings').where('cluster_id', '=', clusterId).where('id', 'in', ids).execute();
    await this.db.deleteFrom('project_role_bindings').where('cluster_id', '=', clusterId).where('id', 'in', ids).execute();
    for (const id of ids) {
      if (this.clusterBindingsById.get(id)?.clusterId === clusterId) this.clusterBindingsById.delete(id);
      if (this.projectBindingsById.get(id)?.clusterId === clusterId) this.projectBindingsById.delete(id);
    }
    this.reindex(clusterId);
    this.committed({ table: 'bindings', clusterId });
  }

  /** Forgets everything of a deleted cluster (the store's foreign keys already cascaded). */
  forgetCluster(clusterId: string): void {
    for (const [id, p] of this.projects) if (p.clusterId === clusterId) this.projects.delete(id);
    for (const [id, b] of this.clusterBindingsById) if (b.clusterId === clusterId) this.clusterBindingsById.delete(id);
    for (const [id, b] of this.projectBindingsById) if (b.clusterId === clusterId) this.projectBindingsById.delete(id);
    this.members.delete(clusterId);
  }
}

/** Group principals become RBAC subject names and header values: printable ASCII, no blanks at the ends. */
function checkSubject(subject: BindingSubject): void {
  const value = subject.kind === 'user' ? subject.userId : subject.principalId;
  if (value.length === 0 || value.length > MAX_PRINCIPAL || !/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value)) {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `${subject.kind} ${JSON.stringify(value.slice(0, 80))} must be 1-${MAX_PRINCIPAL} printable ASCII characters`);
  }
  if (subject.kind === 'group' && value.startsWith('system:')) {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', 'Kubernetes "system:" groups cannot be bound through Drover; bind a provider group principal');
  }
}
