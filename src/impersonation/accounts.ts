/**
 * The per-user impersonation accounts on each downstream cluster (the five objects
 * `renderImpersonationResources` describes), read through watch caches and written
 * only when something is missing or the ClusterRole lacks a name the request needs.
 *
 * Hot path: `tokenFor()` reads four label-selected caches (ClusterRoles,
 * ServiceAccounts, token Secrets, ClusterRoleBindings) and returns the account's
 * token with no API call. Otherwise it applies what is missing (server-side apply,
 * IMPERSONATION_APPLY_ORDER) once per user per cluster however many requests race
 * (single flight), then waits for the controller-manager to fill the token Secret.
 * The Secret's name is derived from the user id, so no retry can make a second one.
 *
 * Fails closed: a cache that is not synced (or was closed with its client) is
 * waited for, never bypassed; an account whose Secret stays empty is a 503.
 */
import type { Logger } from '../logging/index.ts';
import { silentLogger } from '../logging/index.ts';
import { DroverError } from '../errors/index.ts';
import { USER_LABEL, ownedSelector } from '../downstream/index.ts';
import type { UserIdentity } from './identity.ts';
import {
  IMPERSONATION_APPLY_ORDER, IMPERSONATION_NAMESPACE, impersonationName, impersonationTokenSecretName, renderImpersonationResources,
} from './impersonation-resources.ts';
import { checkImpersonationRole } from './impersonation-role-check.ts';
import {
  WatchCache, isKubeApiError, resourcePath, resources, type ClusterRole, type ClusterRoleBinding, type KubeClient, type KubeObject,
  type Secret, type ServiceAccount,
} from '../kube/index.ts';
import { identityKey } from './identity-key.ts';

/** Per-user impersonation resources on a cluster, as the RBAC reconciler creates and removes them when bindings change. */
export interface ImpersonationAccounts {
  /** Creates what is missing and makes the role allow exactly `user` (no write when it already does). */
  ensure(clusterId: string, user: UserIdentity): Promise<void>;
  remove(clusterId: string, userId: string): Promise<void>;
  /** Ids of the users holding an impersonation account on the cluster now (from its labels). */
  holders(clusterId: string): Promise<string[]>;
}

/** The cluster-admin client for a connected cluster, or undefined while it is not connected. */
export type AdminClientSource = (clusterId: string) => KubeClient | undefined;

export interface ImpersonationAccountsOptions {
  adminClient: AdminClientSource;
  logger?: Logger;
  /** How long to wait for caches to sync and the token Secret to be filled. Default 15 s. */
  waitMs?: number;
}

const FIELD_MANAGER = 'drover-proxy';
/** Bounds the per-cluster verdict memo; past it the memo starts over (each entry is rebuilt on the next request). */
const maxVerdicts = 10_000;

/** Per-cluster caches plus single-flight writes. */
class ClusterAccounts {
  readonly roles: WatchCache<ClusterRole>;
  readonly accounts: WatchCache<ServiceAccount>;
  readonly secrets: WatchCache<Secret>;
  readonly bindings: WatchCache<ClusterRoleBinding>;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly coldPaths = new Map<string, Promise<string>>();
  private readonly names = new Map<string, { name: string; secretName: string }>();
  /** Per user: the cache objects a ready token was derived from, and the token. */
  private readonly verdicts = new Map<string, {
    role: ClusterRole; account: ServiceAccount; binding: ClusterRoleBinding; secret: Secret; key: string; token: string;
  }>();
  private namespaceApplied = false;

  constructor(readonly client: KubeClient, private readonly logger: Logger, private readonly waitMs: number) {
    const selector = ownedSelector('impersonation');
    const ns = IMPERSONATION_NAMESPACE;
    const cache = <T extends KubeObject>(path: string): WatchCache<T> => new WatchCache<T>({ source: client, path, labelSelector: selector, logger }).start();
    this.roles = cache(resourcePath(resources.clusterroles));
    this.bindings = cache(resourcePath(resources.clusterrolebindings));
    this.accounts = cache(resourcePath({ ...resources.serviceaccounts, namespace: ns }));
    this.secrets = cache(resourcePath({ ...resources.secrets, namespace: ns }));
  }

  private async synced(): Promise<void> {
    const all = [this.roles, this.bindings, this.accounts, this.secrets];
    if (all.every((c) => c.hasSynced)) return;
    const signal = AbortSignal.timeout(this.waitMs);
    await Promise.all(all.map((c) => c.waitForSync(signal))).catch((error: unknown) => {
      throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', 'the cluster\'s impersonation accounts could not be read; try again', { cause: error });
    });
  }

  /** The token when everything is in place and the role already allows `user`; no API call. */
  readyToken(user: UserIdentity): string | undefined {
    const { name, secretName } = this.namesOf(user.id);
    const role = this.roles.get(undefined, name);
    const account = this.accounts.get(IMPERSONATION_NAMESPACE, name);
    const binding = this.bindings.get(undefined, name);
    const secret = this.secrets.get(IMPERSONATION_NAMESPACE, secretName);
    const key = identityKey(user);
    // The caches replace an object on every change, so the same four objects and the
    // same identity mean the same verdict: the role check and the decode run once.
    const known = this.verdicts.get(user.id);
    if (known && known.role === role && known.account === account && known.binding === binding && known.secret === secret && known.key === key) {
      return known.token;
    }
    this.verdicts.delete(user.id);
    if (!role || !checkImpersonationRole(role.rules ?? [], user).upToDate) return undefined;
    if (!account || !binding) return undefined;
    const encoded = secret?.data?.token;
    if (!secret || !encoded) return undefined;
    const token = Buffer.from(encoded, 'base64').toString('utf8');
    if (this.verdicts.size >= maxVerdicts) this.verdicts.clear();
    this.verdicts.set(user.id, { role, account, binding, secret, key, token });
    return token;
  }

  /** The account's object names (the Secret's name is a hash of the user id): computed once per user. */
  private namesOf(userId: string): { name: string; secretName: string } {
    let names = this.names.get(userId);
    if (!names) {
      if (this.names.size >= maxVerdicts) this.names.clear();
      names = { name: impersonationName(userId), secretName: impersonationTokenSecretName(userId) };
      this.names.set(userId, names);
    }
    return names;
  }

  /** The token with no await when the caches are synced and hold a ready account (and no cold path runs). */
  readyTokenNow(user: UserIdentity): string | undefined {
    if (this.coldPaths.has(user.id)) return undefined;
    if (!this.roles.hasSynced || !this.secrets.hasSynced || !this.accounts.hasSynced || !this.bindings.hasSynced) return undefined;
    return this.readyToken(user);
  }

  async tokenFor(user: UserIdentity): Promise<string> {
    // While a user's account is being made, everyone waits for the same cold path.
    const cold = this.coldPaths.get(user.id);
    if (cold) return cold;
    if (this.roles.hasSynced && this.secrets.hasSynced) {
      const token = this.readyToken(user);
      if (token) return token;
    }
    await this.synced();
    const ready = this.readyToken(user);
    if (ready) return ready;
    const again = this.coldPaths.get(user.id);
    if (again) return again;
    const work = (async () => {
      await this.ensure(user);
      const token = await this.waitForToken(user);
      await this.waitUntilAccepted(token);
      return token;
    })().finally(() => this.coldPaths.delete(user.id));
    this.coldPaths.set(user.id, work);
    return work;
  }

  /**
   * kube-apiserver checks a Secret-based token against its own informer, which may
   * not have seen a Secret filled a moment ago: a TokenReview (cold path only) waits
   * until the apiserver accepts it, so the user's first request is not a 401.
   */
  private async waitUntilAccepted(token: string): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const review = await this.client.create<{ status?: { authenticated?: boolean } } & Record<string, unknown>>(
        resourcePath(resources.tokenreviews), { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } });
      if (review.status?.authenticated === true) return;
      if (Date.now() > deadline) {
        throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', 'the cluster does not accept the new impersonation account token yet; try again');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Applies whatever is missing; concurrent calls for one user share one write. */
  ensure(user: UserIdentity): Promise<void> {
    const running = this.inflight.get(user.id);
    if (running) return running;
    const work = this.apply(user).finally(() => this.inflight.delete(user.id));
    this.inflight.set(user.id, work);
    return work;
  }

  private async apply(user: UserIdentity): Promise<void> {
    await this.synced();
    const name = impersonationName(user.id);
    const existingRole = this.roles.get(undefined, name);
    const check = checkImpersonationRole(existingRole?.rules, user);
    let roleUid = existingRole?.metadata.uid;
    let accountUid = this.accounts.get(IMPERSONATION_NAMESPACE, name)?.metadata.uid;
    for (const step of IMPERSONATION_APPLY_ORDER) {
      const desired = renderImpersonationResources(user, {
        ...(roleUid ? { clusterRoleUid: roleUid } : {}), ...(accountUid ? { serviceAccountUid: accountUid } : {}),
      });
      switch (step) {
        case 'namespace':
          if (!this.namespaceApplied) {
            await this.sa(resourcePath({ ...resources.namespaces, name: IMPERSONATION_NAMESPACE }), desired.namespace);
            this.namespaceApplied = true;
          }
          break;
        case 'clusterRole':
          if (!check.upToDate) {
            const role = await this.sa<ClusterRole>(resourcePath({ ...resources.clusterroles, name }), { ...desired.clusterRole, rules: check.rules });
            roleUid = role.metadata.uid;
          }
          break;
        case 'serviceAccount':
          if (!this.accounts.get(IMPERSONATION_NAMESPACE, name)) {
            const account = await this.sa<ServiceAccount>(resourcePath({ ...resources.serviceaccounts, namespace: IMPERSONATION_NAMESPACE, name }), desired.serviceAccount);
            accountUid = account.metadata.uid;
          }
          break;
        case 'tokenSecret':
          if (!this.secrets.get(IMPERSONATION_NAMESPACE, desired.tokenSecret.metadata.name)) {
            await this.sa(resourcePath({ ...resources.secrets, namespace: IMPERSONATION_NAMESPACE, name: desired.tokenSecret.metadata.name }), desired.tokenSecret);
          }
          break;
        case 'clusterRoleBinding':
          if (!this.bindings.get(undefined, name)) {
            await this.sa(resourcePath({ ...resources.clusterrolebindings, name }), desired.clusterRoleBinding);
          }
          break;
        default: {
          const never: never = step;
          throw new DroverError('DRV_ERR_INTERNAL', `unknown impersonation step ${String(never)}`);
        }
      }
    }
    this.logger.info({ userId: user.id }, 'impersonation account applied');
  }

  private sa<T extends KubeObject>(path: string, body: object): Promise<T> {
    return this.client.patch<T>(path, body, { type: 'apply', fieldManager: FIELD_MANAGER, force: true });
  }

  /** Waits, on cache events, until the controller-manager has filled the token and the role shows up. */
  private async waitForToken(user: UserIdentity): Promise<string> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const token = this.readyToken(user);
      if (token) return token;
      if (Date.now() > deadline) {
        throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE',
          `the impersonation account for this user is not ready on the cluster (token Secret ${impersonationTokenSecretName(user.id)} not filled); run "drover doctor" or try again`);
      }
      await new Promise<void>((resolve) => {
        const offs = [this.roles, this.secrets, this.accounts, this.bindings].map((c) => c.onEvent(() => done()));
        const timer = setTimeout(() => done(), 200);
        function done(): void {
          clearTimeout(timer);
          for (const off of offs) off();
          resolve();
        }
      });
    }
  }

  async remove(userId: string): Promise<void> {
    try {
      await this.client.delete(resourcePath({ ...resources.clusterroles, name: impersonationName(userId) }), { propagationPolicy: 'Background' });
    } catch (error) {
      if (!isKubeApiError(error, 404)) throw error;
    }
  }

  /** Users with an impersonation ClusterRole here, by its user label (the role is what remove deletes). */
  async holders(): Promise<string[]> {
    await this.synced();
    return this.roles.list().flatMap((role) => role.metadata.labels?.[USER_LABEL] ?? []);
  }

  async close(): Promise<void> {
    await Promise.all([this.roles, this.bindings, this.accounts, this.secrets].map((c) => c.close()));
  }
}

/** The impersonation accounts of every connected cluster. */
export class KubeImpersonationAccounts implements ImpersonationAccounts {
  private readonly clusters = new Map<string, ClusterAccounts>();
  private readonly adminClient: AdminClientSource;
  private readonly logger: Logger;
  private readonly waitMs: number;

  constructor(options: ImpersonationAccountsOptions) {
    this.adminClient = options.adminClient;
    this.logger = options.logger ?? silentLogger();
    this.waitMs = options.waitMs ?? 15_000;
  }

  /** The caches for a cluster, rebuilt when its connection (client) changes. */
  private forCluster(clusterId: string): ClusterAccounts {
    const client = this.adminClient(clusterId);
    if (!client) {
      void this.forget(clusterId);
      throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', `cluster ${clusterId} is not connected; try again when it is Active`);
    }
    const existing = this.clusters.get(clusterId);
    if (existing?.client === client) return existing;
    if (existing) void existing.close().catch(() => undefined);
    const fresh = new ClusterAccounts(client, this.logger.child({ cluster: clusterId }), this.waitMs);
    this.clusters.set(clusterId, fresh);
    return fresh;
  }

  /** The account token to send downstream for `user`, creating or updating its resources when needed. */
  async tokenFor(clusterId: string, user: UserIdentity): Promise<string> {
    return this.forCluster(clusterId).tokenFor(user);
  }

  /** Hot path: the token when it is ready in this cluster's caches right now; undefined sends the caller to tokenFor. */
  readyToken(clusterId: string, user: UserIdentity): string | undefined {
    const existing = this.clusters.get(clusterId);
    if (!existing || existing.client !== this.adminClient(clusterId)) return undefined;
    return existing.readyTokenNow(user);
  }

  /** Read-only view for diagnostics (doctor). */
  caches(clusterId: string): Pick<ClusterAccounts, 'roles' | 'accounts' | 'secrets' | 'bindings'> {
    return this.forCluster(clusterId);
  }

  async ensure(clusterId: string, user: UserIdentity): Promise<void> {
    await this.forCluster(clusterId).tokenFor(user);
  }

  async remove(clusterId: string, userId: string): Promise<void> {
    await this.forCluster(clusterId).remove(userId);
  }

  holders(clusterId: string): Promise<string[]> {
    return this.forCluster(clusterId).holders();
  }

  /** Clusters whose caches are open (diagnostics and tests). */
  clusterIds(): string[] {
    return [...this.clusters.keys()];
  }

  /** Closes a cluster's watch caches (cluster deleted or gone); the next request for it starts afresh. */
  async forget(clusterId: string): Promise<void> {
    const existing = this.clusters.get(clusterId);
    this.clusters.delete(clusterId);
    await existing?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.clusters.values()];
    this.clusters.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}
