/**
 * Brute-force brake for password logins, per username and per client address.
 * After `slowdownAfter` failures within `windowMs` each further attempt waits
 * `slowdownMs`; after `maxFailures` the key is locked for `lockoutMs`, and every
 * attempt (even with the right password) gets 429 with Retry-After until then.
 *
 * The counters live in the database (`login_failures`, migration 0013), so every
 * replica counts against one budget: N replicas do not give a guesser N budgets.
 * A failure is counted with one upsert (`failures + 1`, or a new window), so guesses
 * sent in parallel, to one replica or several, are each counted. Rows whose window
 * and lockout are over are deleted as failures come in, at most once a minute per
 * replica (a guesser's flood of failures is not also a flood of DELETEs; an old row
 * counts for nothing meanwhile). A good login deletes the username's row only when
 * this replica saw one (in `check` or by recording a failure): most logins follow no
 * failure, and then cost the one read of `check` and no write.
 */
import { sql, type Kysely } from 'kysely';
import { DroverError } from '../errors/index.ts';
import type { Database } from '../store/index.ts';
import type { Clock } from './types.ts';

export interface ThrottlePolicy {
  windowMs: number;
  slowdownAfter: number;
  slowdownMs: number;
  maxFailures: number;
  lockoutMs: number;
}

export interface LoginThrottleOptions {
  db: Kysely<Database>;
  clock: Clock;
  perUsername?: Partial<ThrottlePolicy>;
  perAddress?: Partial<ThrottlePolicy>;
}

const defaultUsername: ThrottlePolicy = { windowMs: 15 * 60_000, slowdownAfter: 3, slowdownMs: 1_000, maxFailures: 10, lockoutMs: 15 * 60_000 };
/** Stale rows are deleted at most this often per replica. */
const cleanupEveryMs = 60_000;
/** Usernames remembered as having failures; beyond this the memory starts again (a good login then may leave its old row: stricter, never looser). */
const maxRemembered = 10_000;

const defaultAddress: ThrottlePolicy = { windowMs: 15 * 60_000, slowdownAfter: 10, slowdownMs: 1_000, maxFailures: 50, lockoutMs: 15 * 60_000 };

export class LoginThrottle {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;
  private readonly policies: { user: ThrottlePolicy; addr: ThrottlePolicy };
  /** Username keys with a failure row as this replica last saw them: only their good login needs a DELETE. */
  private readonly failing = new Set<string>();
  private cleanedAt = -Infinity;

  constructor(options: LoginThrottleOptions) {
    this.db = options.db;
    this.clock = options.clock;
    this.policies = { user: { ...defaultUsername, ...options.perUsername }, addr: { ...defaultAddress, ...options.perAddress } };
  }

  private keys(username: string, address: string): Array<[string, ThrottlePolicy]> {
    return [[`user:${username.toLowerCase()}`, this.policies.user], [`addr:${address}`, this.policies.addr]];
  }

  /** Throws 429 while either key is locked; otherwise returns how long to wait first (ms). */
  async check(username: string, address: string): Promise<number> {
    const now = this.clock();
    const keys = this.keys(username, address);
    const rows = await this.db.selectFrom('login_failures').selectAll().where('key', 'in', keys.map(([key]) => key)).execute();
    const userKey = keys[0]?.[0] ?? '';
    if (rows.some((r) => r.key === userKey)) this.rememberFailing(userKey);
    else this.failing.delete(userKey);
    let delay = 0;
    for (const [key, policy] of keys) {
      const row = rows.find((r) => r.key === key);
      if (!row) continue;
      const lockedUntil = Number(row.locked_until);
      if (now < lockedUntil) {
        const seconds = Math.ceil((lockedUntil - now) / 1000);
        throw new DroverError('DRV_ERR_TOO_MANY_REQUESTS',
          `too many failed logins ${key.startsWith('user:') ? 'for this user' : 'from this address'}: try again in ${seconds} s`,
          { retryAfterSeconds: seconds });
      }
      // A window that is over counts for nothing (its row goes at the next clean-up).
      if (now - Number(row.first_at) > policy.windowMs) continue;
      if (row.failures >= policy.slowdownAfter) delay = Math.max(delay, policy.slowdownMs);
    }
    return delay;
  }

  async recordFailure(username: string, address: string): Promise<void> {
    const now = this.clock();
    const keys = this.keys(username, address);
    this.rememberFailing(keys[0]?.[0] ?? '');
    for (const [key, policy] of keys) {
      // One statement: a new window when the last one is over and no lockout holds, else one more failure.
      const over = sql<boolean>`login_failures.locked_until <= ${now} and ${now} - login_failures.first_at > ${policy.windowMs}`;
      const counted = await this.db.insertInto('login_failures').values({ key, failures: 1, first_at: now, locked_until: 0 })
        .onConflict((oc) => oc.column('key').doUpdateSet({
          failures: sql<number>`case when ${over} then 1 else login_failures.failures + 1 end`,
          first_at: sql<number>`case when ${over} then ${now} else login_failures.first_at end`,
        }))
        .returning('failures').executeTakeFirstOrThrow();
      if (counted.failures >= policy.maxFailures) {
        // Locked; a fresh window starts when the lock ends. Conditional, so racing replicas lock once.
        const until = now + policy.lockoutMs;
        await this.db.updateTable('login_failures').set({ failures: 0, first_at: until, locked_until: until })
          .where('key', '=', key).where('failures', '>=', policy.maxFailures).execute();
      }
    }
    if (now - this.cleanedAt < cleanupEveryMs) return;
    this.cleanedAt = now;
    const longest = Math.max(this.policies.user.windowMs, this.policies.addr.windowMs);
    await this.db.deleteFrom('login_failures').where('first_at', '<', now - longest).where('locked_until', '<=', now).execute();
  }

  /** A good login clears the username's failures (not the address's), when there are any. */
  async recordSuccess(username: string): Promise<void> {
    const key = `user:${username.toLowerCase()}`;
    if (!this.failing.delete(key)) return;
    await this.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }

  private rememberFailing(key: string): void {
    if (this.failing.size >= maxRemembered) this.failing.clear();
    this.failing.add(key);
  }
}
