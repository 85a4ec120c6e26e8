/**
 * Re-reads the groups of every external user who holds a token, every
 * `DROVER_PROVIDER_REFRESH_SECONDS` (120 by default), so a change at the
 * provider changes what the user can do without a re-login. `gone` (deleted or
 * disabled at the provider) and "no longer allowed by the access mode" revoke
 * the user's tokens. A provider that cannot be reached changes nothing: the last
 * known groups stay (they never grow without the provider saying so), and the
 * failure is logged. With several replicas the pass runs on one of them at a time
 * (`runHere`, the holder of the `group-refresh` lease): it calls every provider for
 * every user, which N replicas need not do N times.
 */
import type { Store } from '../../store/index.ts';
import { DroverError } from '../../errors/index.ts';
import type { Logger } from '../../logging/index.ts';
import { checkIdentityShape, isAllowed, type AccessPolicy, type ExternalLogin } from './external-login.ts';
import { forgetOrphanCredentials } from './known-users.ts';
import type { AuthProvider, ProviderName } from './types.ts';

const orphanGraceMs = 60_000;

export interface RefreshSource {
  enabledProviders(): Promise<Array<{ name: ProviderName; provider: AuthProvider; policy: AccessPolicy }>>;
}

export interface RefreshOutcome { refreshed: number; revoked: number; failed: number }

export class GroupRefresher {
  private readonly store: Store;
  private readonly source: RefreshSource;
  private readonly login: ExternalLogin;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly concurrency: number;
  private readonly runHere: () => boolean;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RefreshOutcome> | undefined;
  private closed = false;

  constructor(options: {
    store: Store; source: RefreshSource; login: ExternalLogin; logger: Logger; intervalMs: number; concurrency?: number;
    /** Whether this replica runs the periodic pass now (default: always, one process). */
    runHere?: () => boolean;
  }) {
    this.runHere = options.runHere ?? (() => true);
    this.store = options.store;
    this.source = options.source;
    this.login = options.login;
    this.logger = options.logger;
    this.intervalMs = options.intervalMs;
    this.concurrency = options.concurrency ?? 4;
  }

  start(): this {
    const tick = (): void => {
      if (this.closed) return;
      (this.runHere() ? this.runOnce() : Promise.resolve()).catch((error: unknown) => this.logger.warn({ err: error }, 'group refresh failed'))
        .finally(() => { if (!this.closed) this.timer = setTimeout(tick, this.intervalMs).unref(); });
    };
    this.timer = setTimeout(tick, this.intervalMs).unref();
    return this;
  }

  /** One pass over every enabled provider; concurrent calls share the pass in flight. */
  runOnce(): Promise<RefreshOutcome> {
    this.running ??= this.pass().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async pass(): Promise<RefreshOutcome> {
    const outcome: RefreshOutcome = { refreshed: 0, revoked: 0, failed: 0 };
    // Credentials of deleted users, refused and test logins: kept a minute so a first login in progress keeps its own.
    const forgotten = await forgetOrphanCredentials(this.store, new Date(Date.now() - orphanGraceMs).toISOString());
    if (forgotten > 0) this.logger.info({ forgotten }, 'stored provider credentials of users that no longer exist deleted');
    for (const { name, provider, policy } of await this.source.enabledProviders()) {
      // Only users who can still act: those holding a token.
      const holders = await this.login.tokenHolders();
      const rows = (await this.login.principalsOf(name)).filter((row) => holders.has(row.userId));
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < rows.length && !this.closed) {
          const row = rows[next++];
          if (row) await this.refreshOne(name, provider, policy, row.principalId, row.userId, outcome);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, rows.length) }, worker));
    }
    if (outcome.revoked > 0 || outcome.failed > 0) this.logger.info({ ...outcome }, 'group refresh pass done');
    return outcome;
  }

  private async refreshOne(
    name: ProviderName, provider: AuthProvider, policy: AccessPolicy, principalId: string, userId: string, outcome: RefreshOutcome,
  ): Promise<void> {
    let result;
    try {
      result = await provider.refresh(principalId);
    } catch (error) {
      outcome.failed++;
      this.logger.warn({ provider: name, userId, code: error instanceof DroverError ? error.code : undefined, err: error },
        'could not refresh a user\'s groups; keeping the last known groups');
      return;
    }
    if (result.state === 'gone') {
      await this.login.revokeTokens([userId]);
      outcome.revoked++;
      this.logger.info({ provider: name, userId, reason: result.reason }, 'user gone at the provider; tokens revoked');
      return;
    }
    const identity = result.identity;
    try {
      checkIdentityShape(name, identity);
      if (identity.user.id !== principalId) throw new DroverError('DRV_ERR_INTERNAL', 'refresh answered for another principal');
    } catch (error) {
      outcome.failed++;
      this.logger.error({ provider: name, userId, err: error }, 'provider refresh answer refused; keeping the last known groups');
      return;
    }
    if (!isAllowed(policy, identity)) {
      await this.login.revokeTokens([userId]);
      outcome.revoked++;
      this.logger.info({ provider: name, userId }, 'user no longer allowed by the provider\'s access mode; tokens revoked');
      return;
    }
    const user = await this.login.findByPrincipal(principalId);
    if (user?.id === userId) {
      await this.login.writeGroups(user, identity);
      outcome.refreshed++;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
