/**
 * Token records: issue (secret returned once, only its hash stored), list,
 * revoke, and the one-query lookup the authenticator uses. TTLs: login sessions
 * default to 16 h; API and kubeconfig tokens take a requested TTL up to the
 * server-wide maximum.
 *
 * This module is the one owner of the `tokens` table: every other module (users,
 * providers, kube-api-auth's sync) reads and writes tokens through it. Its queries that
 * need a token's user join the `users` table through user-service.ts, that table's owner.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, Store, TokensTable } from '../store/index.ts';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import { generateToken, hashTokenSecret } from '../tokens/index.ts';
import type { Clock, GlobalRole, TokenCacheInvalidator, TokenInfo, TokenKind } from './types.ts';
import { isUserEnabled, withTokenUser } from './token-owner.ts';

export interface TokenPolicy {
  /** Login sessions (seconds); 16 h by default. */
  sessionTtlSeconds: number;
  /** The longest TTL any token may have (seconds); 90 days by default. */
  maxTtlSeconds: number;
}

export const defaultTokenPolicy: TokenPolicy = { sessionTtlSeconds: 16 * 3600, maxTtlSeconds: 90 * 24 * 3600 };

export interface IssueTokenInput {
  userId: string;
  kind: TokenKind;
  authProvider: string;
  description?: string;
  /** Seconds; the kind's default when absent. */
  ttlSeconds?: number;
  clusterId?: string;
}

/** A token joined with its user: everything the authenticator decides on. */
export interface TokenAuthRecord {
  id: string;
  secretHash: string;
  enabled: boolean;
  authProvider: string;
  clusterId?: string;
  expiresAt?: string;
  user: {
    id: string; username: string; displayName: string; enabled: boolean; globalRole: GlobalRole; principalIds: string[];
    mustChangePassword: boolean;
  };
}

/** What the authenticator needs from the store: a narrow, read-mostly view. */
export interface TokenLookup {
  findForAuth(tokenId: string): Promise<TokenAuthRecord | undefined>;
  touchLastUsed(tokenId: string, at: string): Promise<void>;
}

export function toTokenInfo(row: Selectable<TokensTable>): TokenInfo {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind,
    authProvider: row.auth_provider,
    description: row.description,
    ...(row.cluster_id === null ? {} : { clusterId: row.cluster_id }),
    enabled: row.enabled === 1,
    createdAt: row.created_at,
    ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
    ...(row.last_used_at === null ? {} : { lastUsedAt: row.last_used_at }),
  };
}

/**
 * Deletes every token of these users, in the caller's transaction when it changes the
 * users too (disable, delete, password reset); returns how many. The caller tells the
 * authenticator after the commit.
 */
export async function deleteTokensOf(db: Kysely<Database>, userIds: readonly string[]): Promise<number> {
  if (userIds.length === 0) return 0;
  const result = await db.deleteFrom('tokens').where('user_id', 'in', userIds).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Deletes one user's tokens but `keep` (the one in use), only those of `kind` when given,
 * in the caller's transaction (a password change); the caller tells the authenticator.
 */
export async function deleteOtherTokensOf(db: Kysely<Database>, userId: string, options: { keep?: string; kind?: TokenKind }): Promise<void> {
  let query = db.deleteFrom('tokens').where('user_id', '=', userId);
  if (options.keep !== undefined) query = query.where('id', '!=', options.keep);
  if (options.kind !== undefined) query = query.where('kind', '=', options.kind);
  await query.execute();
}

export class TokenService implements TokenLookup {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly invalidator: TokenCacheInvalidator;
  private readonly policy: TokenPolicy;

  constructor(options: { store: Store; clock: Clock; invalidator: TokenCacheInvalidator; policy?: TokenPolicy }) {
    this.store = options.store;
    this.clock = options.clock;
    this.invalidator = options.invalidator;
    this.policy = options.policy ?? defaultTokenPolicy;
    if (!(this.policy.sessionTtlSeconds > 0) || !(this.policy.maxTtlSeconds >= this.policy.sessionTtlSeconds)) {
      throw new InvalidArgumentError('token policy', 'sessionTtlSeconds > 0 and maxTtlSeconds >= sessionTtlSeconds', this.policy);
    }
  }

  private ttlFor(input: IssueTokenInput): number {
    const ttl = input.ttlSeconds ?? (input.kind === 'session' ? this.policy.sessionTtlSeconds : this.policy.maxTtlSeconds);
    if (!Number.isInteger(ttl) || ttl <= 0) throw new DroverError('DRV_ERR_UNPROCESSABLE', 'ttlSeconds: expected a positive whole number of seconds');
    if (ttl > this.policy.maxTtlSeconds) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `ttlSeconds: at most ${this.policy.maxTtlSeconds} (the server's maximum token lifetime)`);
    }
    return ttl;
  }

  /** Creates a token; `value` (id:secret) is returned here and never again. */
  async issue(input: IssueTokenInput): Promise<{ token: TokenInfo; value: string }> {
    const ttl = this.ttlFor(input);
    const generated = generateToken();
    const now = this.clock();
    const row = {
      id: generated.id,
      user_id: input.userId,
      secret_hash: hashTokenSecret(generated.secret),
      kind: input.kind,
      auth_provider: input.authProvider,
      description: input.description ?? '',
      cluster_id: input.clusterId ?? null,
      enabled: 1,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + ttl * 1000).toISOString(),
      last_used_at: null,
    };
    await this.store.db.insertInto('tokens').values(row).execute();
    // A login that passed its checks just before its user was disabled must not leave a
    // token behind for `users enable` to bring back. Disabling updates the user row before
    // it deletes the tokens, in one transaction: this read either comes first (and the
    // delete then takes the new token) or, on PostgreSQL, waits on that row until the
    // disable commits (SQLite has one writer, so the insert itself waited).
    if (!await isUserEnabled(this.store, input.userId)) {
      await this.store.db.deleteFrom('tokens').where('id', '=', row.id).execute();
      throw new DroverError('DRV_ERR_USER_DISABLED', 'user is disabled: an admin can enable them again');
    }
    return { token: toTokenInfo(row), value: generated.value };
  }

  /** Every token, or one user's. */
  async list(filter: { userId?: string } = {}): Promise<TokenInfo[]> {
    let query = this.store.db.selectFrom('tokens').selectAll().orderBy('created_at').orderBy('id');
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    return (await query.execute()).map(toTokenInfo);
  }

  async get(id: string): Promise<TokenInfo> {
    const row = await this.store.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new DroverError('DRV_ERR_NOT_FOUND', `no token "${id}"`);
    return toTokenInfo(row);
  }

  /** Deletes the record; the authenticator forgets it at once. */
  async revoke(id: string): Promise<void> {
    const result = await this.store.db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst();
    this.invalidator.invalidateToken(id);
    if (Number(result.numDeletedRows) === 0) throw new DroverError('DRV_ERR_NOT_FOUND', `no token "${id}"`);
  }

  /** Deletes every token of these users (gone at their provider, provider disabled); the authenticator forgets them at once. */
  async revokeAllOf(userIds: readonly string[]): Promise<number> {
    const unique = [...new Set(userIds)];
    const deleted = await deleteTokensOf(this.store.db, unique);
    for (const id of unique) this.invalidator.invalidateUser(id);
    return deleted;
  }

  /** The users who hold a token (of one provider's logins, when given): those who can still act. */
  async holders(filter: { authProvider?: string } = {}): Promise<Set<string>> {
    let query = this.store.db.selectFrom('tokens').select('user_id').distinct();
    if (filter.authProvider !== undefined) query = query.where('auth_provider', '=', filter.authProvider);
    return new Set((await query.execute()).map((row) => row.user_id));
  }

  /** Every cluster-scoped token not expired at `now`, with its user: what kube-api-auth checks offline. */
  async clusterScoped(now: string) {
    return withTokenUser(this.store.db.selectFrom('tokens'))
      .select([
        'tokens.id as tokenId', 'tokens.cluster_id as clusterId', 'tokens.secret_hash as hash', 'tokens.enabled as tokenEnabled',
        'tokens.expires_at as expiresAt', 'tokens.auth_provider as provider',
      ])
      .where('tokens.cluster_id', 'is not', null)
      .where((eb) => eb.or([eb('tokens.expires_at', 'is', null), eb('tokens.expires_at', '>', now)]))
      .execute();
  }

  /** Removes expired records; returns how many. */
  async deleteExpired(): Promise<number> {
    const result = await this.store.db.deleteFrom('tokens').where('expires_at', '<', new Date(this.clock()).toISOString()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async findForAuth(tokenId: string): Promise<TokenAuthRecord | undefined> {
    const row = await withTokenUser(this.store.db.selectFrom('tokens'))
      .select([
        'tokens.id as id', 'tokens.secret_hash as secret_hash', 'tokens.enabled as enabled', 'tokens.auth_provider as auth_provider',
        'tokens.cluster_id as cluster_id', 'tokens.expires_at as expires_at',
      ])
      .where('tokens.id', '=', tokenId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      secretHash: row.secret_hash,
      enabled: row.enabled === 1,
      authProvider: row.auth_provider,
      ...(row.cluster_id === null ? {} : { clusterId: row.cluster_id }),
      ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
      user: {
        id: row.userId,
        username: row.username,
        displayName: row.displayName,
        enabled: row.userEnabled === 1,
        globalRole: row.globalRole,
        principalIds: JSON.parse(row.principalIds) as string[],
        mustChangePassword: row.mustChangePassword === 1,
      },
    };
  }

  async touchLastUsed(tokenId: string, at: string): Promise<void> {
    await this.store.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', tokenId).execute();
  }
}
