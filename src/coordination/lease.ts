/**
 * A lease: at most one replica at a time holds the lease of a name, so a loop that
 * must run once across all replicas (provider group refresh, expired-token
 * clean-up) runs where `held()` is true.
 *
 * On PostgreSQL, one row per name in `leases` (migration 0009). Claiming and renewing
 * are the same single statement: insert the row, or take it over when this holder
 * already has it or it has expired, judged by the database's clock so replicas with
 * different clocks agree. The holder renews every `renewMs` (5 s) for `ttlMs` (15 s);
 * a holder that dies (kill -9, a lost network) keeps it at most `ttlMs`, then the next
 * claim of another replica takes it. A graceful close gives it back at once.
 *
 * `held()` is judged by this process's clock from when the last successful claim was
 * *sent*, less a margin, so a holder that cannot reach the database stops believing it
 * holds the lease before the database lets anyone else take it.
 */
import { sql, type QueryExecutorProvider } from 'kysely';
import type { Logger } from '../logging/index.ts';

export interface Lease {
  /** Whether this process may run the loop now. */
  held(): boolean;
  /** Starts claiming and renewing. */
  start(): this;
  /** Stops renewing and gives the lease back; idempotent. */
  close(): Promise<void>;
}

/** One process (SQLite): it always holds every lease. */
export class LocalLease implements Lease {
  held(): boolean { return true; }
  start(): this { return this; }
  close(): Promise<void> { return Promise.resolve(); }
}

export interface PostgresLeaseOptions {
  db: QueryExecutorProvider;
  /** The loop's name: the row's key. */
  name: string;
  /** Who this process is (stable for its life, unique among replicas). */
  holderId: string;
  logger: Logger;
  /** How long a claim is good for (default 15 s). */
  ttlMs?: number;
  /** How often the holder renews, and others try (default 5 s). */
  renewMs?: number;
  now?: () => number;
}

/** Room for the round trip and timer delays: this process stops believing well before others may take over. */
const SAFETY_MARGIN_MS = 2_000;

export class PostgresLease implements Lease {
  private readonly options: Required<PostgresLeaseOptions>;
  private heldUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private claiming: Promise<void> | undefined;
  private closed = false;

  constructor(options: PostgresLeaseOptions) {
    this.options = { ttlMs: 15_000, renewMs: 5_000, now: Date.now, ...options };
  }

  held(): boolean {
    return !this.closed && this.options.now() < this.heldUntil;
  }

  start(): this {
    const tick = (): void => {
      if (this.closed) return;
      this.claiming = this.claim().finally(() => {
        this.claiming = undefined;
        if (!this.closed) this.timer = setTimeout(tick, this.options.renewMs).unref();
      });
    };
    tick();
    return this;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.claiming;
    const { db, name, holderId, logger } = this.options;
    if (this.heldUntil === 0) return;
    this.heldUntil = 0;
    await sql`delete from leases where name = ${name} and holder = ${holderId}`.execute(db)
      .catch((error: unknown) => logger.warn({ err: error, lease: name }, 'could not give the lease back; another replica takes it when it expires'));
  }

  private async claim(): Promise<void> {
    const { db, name, holderId, ttlMs, logger, now } = this.options;
    const sentAt = now();
    const wasHeld = this.held();
    try {
      const result = await sql<{ holder: string }>`
        insert into leases (name, holder, expires_at) values (${name}, ${holderId}, now() + ${ttlMs} * interval '1 millisecond')
        on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
          where leases.holder = excluded.holder or leases.expires_at < now()
        returning holder`.execute(db);
      this.heldUntil = result.rows.length === 1 ? sentAt + ttlMs - SAFETY_MARGIN_MS : 0;
    } catch (error) {
      // Unknown outcome: act as if not held; the next tick tries again.
      this.heldUntil = 0;
      logger.warn({ err: error, lease: name }, 'could not claim or renew a lease; retrying');
    }
    if (this.held() !== wasHeld) logger.info({ lease: name, holder: holderId }, this.held() ? 'holding the lease: this replica runs the loop' : 'lost the lease: another replica runs the loop');
  }
}
