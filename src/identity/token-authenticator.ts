/**
 * The token check on every request. A cache keyed by token id holds the record
 * (hash, flags, expiry, user) for `recheckMs` (5 s by default, the bound on how
 * stale another replica's change can be); changes made through this replica
 * invalidate entries synchronously, so revoke/disable/delete take effect on the
 * next request here. A cached check is parse + one salted SHA3-512 (the stored
 * hash decoded once per load, `tokenVerifier`) + compares: a few microseconds, and
 * synchronous (`authenticateCached`), so the proxy's chain does not await it.
 * Unknown ids are not cached (no memory for attackers to fill), the cache is
 * bounded, and last-used is written at most once a minute per token, off the
 * request path. Every invalidation is also announced
 * (`onInvalidate`), so whatever holds access open on a token (the proxy's open
 * streams) checks it again at once.
 *
 * Replicas: `invalidateToken`/`invalidateUser` are called by the writers of this
 * process after their commit, and publish the change on the change feed; another
 * replica's event comes in through `dropToken`/`dropUser`, which invalidate and
 * announce here only (publishing them again would echo between replicas forever).
 */
import { LRUCache } from 'lru-cache';
import type { ChangePublisher } from '../coordination/index.ts';
import type { Logger } from '../logging/index.ts';
import { groupPrincipalIds } from '../principals/index.ts';
import { DroverError } from '../errors/index.ts';
import { tokenFromAuthorization, tokenVerifier } from '../tokens/index.ts';
import type { TokenAuthRecord, TokenLookup } from './token-service.ts';
import type { AuthenticatedUser, Clock, TokenAuthenticator, TokenCacheInvalidator, TokenInvalidation } from './types.ts';

interface Entry {
  record: TokenAuthRecord;
  /** The record's secret hash, decoded once. */
  verify: (secret: string) => boolean;
  user: AuthenticatedUser;
  expiresAtMs: number;
  fetchedAt: number;
  lastUsedWrittenAt: number;
}

export interface CachedTokenAuthenticatorOptions {
  tokens: TokenLookup;
  clock: Clock;
  logger: Logger;
  /** How long a cached record is trusted before it is read again (ms). */
  recheckMs?: number;
  maxEntries?: number;
  /** Minimum interval between last-used writes for one token (ms). */
  lastUsedIntervalMs?: number;
  /** Where this process's invalidations are published for the other replicas (nowhere by default). */
  changes?: ChangePublisher;
}

const invalid = (): DroverError => new DroverError('DRV_ERR_UNAUTHENTICATED', 'invalid or revoked token: log in again ("drover login")');

function toAuthenticatedUser(record: TokenAuthRecord): AuthenticatedUser {
  const passwordChangeOnly = record.user.mustChangePassword && record.authProvider === 'local';
  return Object.freeze({
    id: record.user.id,
    username: record.user.username,
    displayName: record.user.displayName,
    provider: record.authProvider,
    principalIds: record.user.principalIds,
    groups: groupPrincipalIds(record.user.principalIds),
    globalRole: record.user.globalRole,
    token: {
      id: record.id, ...(record.clusterId ? { clusterId: record.clusterId } : {}), ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}),
      ...(passwordChangeOnly ? { passwordChangeOnly: true as const } : {}),
    },
  });
}

export class CachedTokenAuthenticator implements TokenAuthenticator, TokenCacheInvalidator {
  private readonly tokens: TokenLookup;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly recheckMs: number;
  private readonly lastUsedIntervalMs: number;
  private readonly changes: ChangePublisher | undefined;
  private readonly cache: LRUCache<string, Entry>;
  /** Bumped on every invalidation, so a lookup that started before it does not re-cache stale data. */
  private generation = 0;
  private readonly listeners = new Set<(change: TokenInvalidation) => void>();

  constructor(options: CachedTokenAuthenticatorOptions) {
    this.tokens = options.tokens;
    this.clock = options.clock;
    this.logger = options.logger;
    this.recheckMs = options.recheckMs ?? 5_000;
    this.cache = new LRUCache({ max: options.maxEntries ?? 10_000 });
    this.lastUsedIntervalMs = options.lastUsedIntervalMs ?? 60_000;
    this.changes = options.changes;
  }

  async authenticate(authorizationHeaderOrToken: string | undefined): Promise<AuthenticatedUser> {
    const { id, secret } = tokenFromAuthorization(authorizationHeaderOrToken);
    const now = this.clock();
    const entry = this.fresh(id, now) ?? await this.load(id, now);
    if (entry === undefined) throw invalid();
    return this.check(entry, secret, now);
  }

  /**
   * `authenticate` without a promise when the cache can answer now: the user, or the
   * refusal thrown; undefined when the record must be read (unknown to the cache, or
   * older than `recheckMs`), and then only `authenticate` decides.
   */
  authenticateCached(authorizationHeaderOrToken: string | undefined): AuthenticatedUser | undefined {
    const { id, secret } = tokenFromAuthorization(authorizationHeaderOrToken);
    const now = this.clock();
    const entry = this.fresh(id, now);
    return entry && this.check(entry, secret, now);
  }

  private fresh(id: string, now: number): Entry | undefined {
    const entry = this.cache.get(id);
    return entry !== undefined && now - entry.fetchedAt <= this.recheckMs ? entry : undefined;
  }

  /** The secret first: nothing about the record is told to a caller who cannot prove it. */
  private check(entry: Entry, secret: string, now: number): AuthenticatedUser {
    if (!entry.verify(secret) || !entry.record.enabled) throw invalid();
    if (now >= entry.expiresAtMs) throw new DroverError('DRV_ERR_TOKEN_EXPIRED', 'token has expired: log in again ("drover login")');
    if (!entry.record.user.enabled) throw new DroverError('DRV_ERR_USER_DISABLED', 'user is disabled: an admin can enable them again');
    this.noteUsed(entry, now);
    return entry.user;
  }

  private async load(id: string, now: number): Promise<Entry | undefined> {
    const generation = this.generation;
    const record = await this.tokens.findForAuth(id);
    if (record === undefined) {
      this.cache.delete(id);
      return undefined;
    }
    const entry: Entry = {
      record,
      verify: tokenVerifier(record.secretHash),
      user: toAuthenticatedUser(record),
      expiresAtMs: record.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(record.expiresAt),
      fetchedAt: now,
      lastUsedWrittenAt: this.cache.get(id)?.lastUsedWrittenAt ?? 0,
    };
    if (generation === this.generation) {
      this.cache.set(id, entry);
    }
    return entry;
  }

  private noteUsed(entry: Entry, now: number): void {
    if (now - entry.lastUsedWrittenAt < this.lastUsedIntervalMs) return;
    entry.lastUsedWrittenAt = now;
    this.tokens.touchLastUsed(entry.record.id, new Date(now).toISOString()).catch((error: unknown) => {
      this.logger.warn({ tokenId: entry.record.id, err: error }, 'could not record token last-used time');
    });
  }

  /** Calls `listener` after every invalidation (the records already changed); returns the unsubscribe. */
  onInvalidate(listener: (change: TokenInvalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A throwing listener must not fail the change that already committed. */
  private announce(change: TokenInvalidation): void {
    for (const l of this.listeners) {
      try { l(change); } catch (error) { this.logger.warn({ err: error }, 'token invalidation listener failed'); }
    }
  }

  /** This process changed the token (revoke, delete): drop it here and tell the other replicas. */
  invalidateToken(tokenId: string): void {
    this.dropToken(tokenId);
    this.changes?.publish({ table: 'tokens', key: tokenId });
  }

  /** This process changed the user (any committed change to their row or tokens): drop it here and tell the other replicas. */
  invalidateUser(userId: string): void {
    this.dropUser(userId);
    this.changes?.publish({ table: 'users', key: userId });
  }

  /** Another replica changed the token: drop it here only. */
  dropToken(tokenId: string): void {
    this.generation++;
    this.cache.delete(tokenId);
    this.announce({ kind: 'token', tokenId });
  }

  /** Another replica changed the user: drop their entries here only. */
  dropUser(userId: string): void {
    this.generation++;
    const theirs = [...this.cache.entries()].filter(([, entry]) => entry.record.user.id === userId);
    for (const [id] of theirs) this.cache.delete(id);
    this.announce({ kind: 'user', userId });
  }

  /** Drops every entry (tests, and a replica told to resync). */
  clear(): void {
    this.generation++;
    this.cache.clear();
    this.announce({ kind: 'all' });
  }

  get size(): number { return this.cache.size; }
}
