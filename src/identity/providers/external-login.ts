/**
 * The one place a provider's verified answer becomes a Drover user and a session
 * token. The user is found by the provider's user principal alone (the unique
 * `user_principals` row), never by username and never by anything the client
 * sent, so a new directory user cannot take over an existing Drover user
 * (the reference design's CVE-2025-23389). Groups are written into
 * `principal_ids` on every login and refresh.
 */
import type { Store } from '../../store/index.ts';
import { isUniqueViolation } from '../../store/index.ts';
import { DroverError } from '../../errors/index.ts';
import { randomId } from '../../tokens/index.ts';
import type { TokenCacheInvalidator, TokenInfo, User } from '../types.ts';
import type { TokenService } from '../token-service.ts';
import { findUserByPrincipal, insertPrincipalUser, principalsOfProvider, setUserPrincipals, usernameTaken } from '../user-service.ts';
import type { AccessMode, ProviderName, VerifiedIdentity } from './types.ts';

export interface ExternalLoginMeta { address: string; description?: string; ttlSeconds?: number }
export interface ExternalLoginResult { value: string; token: TokenInfo; user: User }

/** `completeExternalLogin(provider, identity, meta)` as the contract names it. */
export type CompleteExternalLogin = (provider: ProviderName, identity: VerifiedIdentity, meta: ExternalLoginMeta) => Promise<ExternalLoginResult>;

export interface AccessPolicy { enabled: boolean; accessMode: AccessMode; allowedPrincipals: readonly string[] }

const usernamePattern = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Refuses an identity whose principals are not of the provider's own scheme: no provider speaks for another. */
export function checkIdentityShape(provider: ProviderName, identity: VerifiedIdentity): void {
  const own = (id: string, kinds: readonly string[]): boolean => kinds.some((k) => id.startsWith(`${provider}_${k}://`) && id.length > `${provider}_${k}://`.length);
  if (identity.user.kind !== 'user' || identity.user.provider !== provider || !own(identity.user.id, ['user'])) {
    throw new DroverError('DRV_ERR_INTERNAL', `provider ${provider} answered with a user principal that is not its own`);
  }
  for (const g of identity.groups) {
    if (g.kind !== 'group' || g.provider !== provider || !own(g.id, ['group', 'team', 'org'])) {
      throw new DroverError('DRV_ERR_INTERNAL', `provider ${provider} answered with a group principal that is not its own`);
    }
  }
}

/** Restricted mode: the user principal or one of its groups must be listed. */
export function isAllowed(policy: AccessPolicy, identity: VerifiedIdentity): boolean {
  if (policy.accessMode === 'unrestricted') return true;
  const allowed = new Set(policy.allowedPrincipals);
  return allowed.has(identity.user.id) || identity.groups.some((g) => allowed.has(g.id));
}

/** `local://u-…`, the user principal, then the groups (sorted, unique). */
export function principalIdsFor(userId: string, identity: VerifiedIdentity): string[] {
  return [`local://${userId}`, identity.user.id, ...[...new Set(identity.groups.map((g) => g.id))].sort()];
}

/** A Drover username from the provider's login name: invalid characters become "-", clashes get a suffix. */
export function usernameCandidate(identity: VerifiedIdentity): string {
  const raw = identity.user.loginName ?? identity.user.displayName;
  let name = raw.replace(/[^A-Za-z0-9._@-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 48);
  if (!usernamePattern.test(name)) name = `user-${randomId('', 6)}`;
  return name;
}

export class ExternalLogin {
  private readonly store: Store;
  private readonly tokens: TokenService;
  private readonly invalidator: TokenCacheInvalidator;
  private readonly policyOf: (provider: ProviderName) => Promise<AccessPolicy>;
  private readonly clock: () => number;
  private readonly announce: (user: User) => void;

  constructor(options: {
    store: Store; tokens: TokenService; invalidator: TokenCacheInvalidator; clock?: () => number;
    policyOf: (provider: ProviderName) => Promise<AccessPolicy>;
    /** Tells user-change listeners (the RBAC reconciler) that a login or refresh rewrote a user's groups. */
    announce?: (user: User) => void;
  }) {
    this.store = options.store;
    this.tokens = options.tokens;
    this.invalidator = options.invalidator;
    this.announce = options.announce ?? (() => undefined);
    this.policyOf = options.policyOf;
    this.clock = options.clock ?? Date.now;
  }

  private now(): string { return new Date(this.clock()).toISOString(); }

  /** The contract's `completeExternalLogin`: access check, find or create the user, write groups, issue a session token. */
  readonly complete: CompleteExternalLogin = async (provider, identity, meta) => {
    checkIdentityShape(provider, identity);
    const policy = await this.policyOf(provider);
    if (!policy.enabled) throw new DroverError('DRV_ERR_UNAUTHENTICATED', `auth provider "${provider}" is not enabled on this server`);
    if (!isAllowed(policy, identity)) {
      throw new DroverError('DRV_ERR_FORBIDDEN', `you may not log in through ${provider}: an admin must allow your user or one of your groups ("drover providers configure")`);
    }
    const user = await this.upsertUser(provider, identity);
    if (!user.enabled) throw new DroverError('DRV_ERR_USER_DISABLED', 'user is disabled: an admin can enable them again');
    const issued = await this.tokens.issue({
      userId: user.id, kind: 'session', authProvider: provider, description: meta.description ?? `${provider} login session`,
      ...(meta.ttlSeconds === undefined ? {} : { ttlSeconds: meta.ttlSeconds }),
    });
    return { value: issued.value, token: issued.token, user };
  };

  /** The user bound to the identity's user principal (created on first login), with fresh groups. */
  async upsertUser(provider: ProviderName, identity: VerifiedIdentity): Promise<User> {
    return this.findOrCreate(provider, identity, (existing) => this.writeGroups(existing, identity));
  }

  /**
   * The user bound to the identity's user principal, created (no password, no
   * tokens) if there is none; an existing user is returned unchanged. For adding a
   * member by principal before their first login, which then finds this user.
   */
  async ensureUser(provider: ProviderName, identity: VerifiedIdentity): Promise<User> {
    checkIdentityShape(provider, identity);
    return this.findOrCreate(provider, identity, (existing) => Promise.resolve(existing));
  }

  private async findOrCreate(provider: ProviderName, identity: VerifiedIdentity, onExisting: (user: User) => Promise<User>): Promise<User> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.findByPrincipal(identity.user.id);
      if (existing) return onExisting(existing);
      try {
        return await this.create(provider, identity, attempt > 0);
      } catch (error) {
        // A concurrent first login won the principal (retry finds it) or the username (retry with a suffix).
        if (!isUniqueViolation(error)) throw error;
      }
    }
    throw new DroverError('DRV_ERR_CONFLICT', 'could not create the user for this login; try again');
  }

  async findByPrincipal(principalId: string): Promise<User | undefined> {
    return findUserByPrincipal(this.store.db, principalId);
  }

  /** Replaces the user's external principals (user + groups) with the identity's; invalidates their cached tokens. */
  async writeGroups(user: User, identity: VerifiedIdentity): Promise<User> {
    const principalIds = principalIdsFor(user.id, identity);
    const displayName = identity.user.displayName || user.displayName;
    if (JSON.stringify(principalIds) === JSON.stringify(user.principalIds) && displayName === user.displayName) return user;
    const now = this.now();
    await setUserPrincipals(this.store.db, user.id, { principalIds, displayName, now });
    this.invalidator.invalidateUser(user.id);
    const changed = { ...user, principalIds, displayName, updatedAt: now };
    this.announce(changed);
    return changed;
  }

  private async create(provider: ProviderName, identity: VerifiedIdentity, withSuffix: boolean): Promise<User> {
    const id = randomId('u-', 10);
    let username = usernameCandidate(identity);
    if (withSuffix || await usernameTaken(this.store.db, username)) username = `${username.slice(0, 40)}-${randomId('', 6)}`;
    const now = this.now();
    const row = {
      id, username, display_name: identity.user.displayName || username, enabled: 1, global_role: 'user' as const, password_hash: null,
      must_change_password: 0, principal_ids: JSON.stringify(principalIdsFor(id, identity)), created_at: now, updated_at: now,
    };
    return insertPrincipalUser(this.store.db, row, { principalId: identity.user.id, provider });
  }

  /** Deletes every token of these users (gone at the provider, provider disabled); returns how many. */
  async revokeTokens(userIds: readonly string[]): Promise<number> {
    return this.tokens.revokeAllOf(userIds);
  }

  /** The user principals of one provider with the Drover user each is bound to. */
  async principalsOf(provider: ProviderName): Promise<Array<{ principalId: string; userId: string }>> {
    return principalsOfProvider(this.store.db, provider);
  }

  /** The users who hold a token, so can still act (the group refresher re-reads only them). */
  tokenHolders(): Promise<Set<string>> {
    return this.tokens.holders();
  }
}
