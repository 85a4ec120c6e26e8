/**
 * The change feed over PostgreSQL `LISTEN/NOTIFY` on one channel. Publishing is one
 * `pg_notify` through the store's pool right after the writer's commit (a notify
 * inside a transaction is delivered only when it commits, so a writer may also send
 * it there). Listening holds one connection of its own (`application_name`
 * `drover-change-feed`), outside the pool, because a pooled connection may be handed
 * back and LISTEN is per connection.
 *
 * Each event carries the id of the process that sent it: the sender already updated
 * its own memory as it wrote, so it skips its own events. Events that arrive within
 * `coalesceMs` of each other (by default: those read from the socket together) are
 * applied once per (table, key).
 *
 * Notifications sent while the listener is disconnected are lost for good, so after
 * every (re)connection the feed runs a full re-read; a timer runs one every
 * `resyncMs` as well, for anything missed otherwise (a writer that died between its
 * commit and its notify).
 */
import { randomBytes } from 'node:crypto';
import { sql, type QueryExecutorProvider } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logging/index.ts';
import type { ChangeEvent, ChangeFeed, ChangeTable, ResyncReason } from './change-feed.ts';

export const CHANGE_CHANNEL = 'drover_changes';
/** The listener's application_name, so operators (and tests) can find its connection in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'drover-change-feed';

export interface PostgresChangeFeedOptions {
  /** The database URL, for the listener's own connection. */
  url: string;
  /** The store's query layer, for publishing. */
  db: QueryExecutorProvider;
  logger: Logger;
  /** How often every view is re-read even without events (ms). */
  resyncMs: number;
  /** Reconnect waits grow from this (ms) ... */
  reconnectInitialMs?: number;
  /** ... to this (ms). */
  reconnectMaxMs?: number;
  /** Events arriving within this window (ms) after the first are applied together, once per (table, key). */
  coalesceMs?: number;
}

interface Payload { t: ChangeTable; k: string; o: string }

function parsePayload(text: string | undefined): Payload | undefined {
  try {
    const value = JSON.parse(text ?? '') as Partial<Payload>;
    return typeof value.t === 'string' && typeof value.k === 'string' && typeof value.o === 'string' ? value as Payload : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends one event on the channel; resolves once PostgreSQL took it. For a process that
 * writes but does not listen (`drover admin reset-password`); `origin` names the sender.
 */
export async function notifyChange(db: QueryExecutorProvider, event: ChangeEvent, origin: string): Promise<void> {
  const payload = JSON.stringify({ t: event.table, k: event.key, o: origin } satisfies Payload);
  await sql`select pg_notify(${CHANGE_CHANNEL}, ${payload})`.execute(db);
}

export class PostgresChangeFeed implements ChangeFeed {
  /** This process; events it sent are skipped when they come back. */
  readonly origin = randomBytes(9).toString('base64url');
  private readonly options: Required<PostgresChangeFeedOptions>;
  private readonly handlers = new Map<ChangeTable, Array<(key: string) => Promise<void> | void>>();
  private readonly resyncHandlers: Array<(reason: ResyncReason) => Promise<void> | void> = [];
  /** Events of the current burst, applied once each. */
  private readonly pending = new Map<string, ChangeEvent>();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  private resyncing: Promise<void> | undefined;
  private again: ResyncReason | undefined;

  constructor(options: PostgresChangeFeedOptions) {
    this.options = { reconnectInitialMs: 200, reconnectMaxMs: 5_000, coalesceMs: 0, ...options };
  }

  publish(event: ChangeEvent): void {
    notifyChange(this.options.db, event, this.origin).catch((error: unknown) => {
      this.options.logger.warn({ err: error, table: event.table, key: event.key }, 'could not publish a change; other replicas see it at their next full re-read');
    });
  }

  on(table: ChangeTable, handler: (key: string) => Promise<void> | void): void {
    this.handlers.set(table, [...this.handlers.get(table) ?? [], handler]);
  }

  onResync(handler: (reason: ResyncReason) => Promise<void> | void): void {
    this.resyncHandlers.push(handler);
  }

  start(): void {
    this.timer = setInterval(() => void this.resync('periodic'), this.options.resyncMs);
    this.timer.unref();
    void this.connect();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
    await this.resyncing;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.options.url, application_name: LISTENER_APPLICATION_NAME });
    // A lost connection reports an error and then ends; either one starts the reconnect, once.
    let lost = false;
    const onLost = (error?: Error): void => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.options.logger.warn({ err: error }, 'change feed listener lost its database connection; reconnecting');
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => this.received(message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (error) {
      onLost(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempt = 0;
    this.options.logger.debug({}, 'change feed listening');
    // Whatever changed before LISTEN took effect was not heard: read everything once.
    await this.resync('connected');
  }

  private scheduleReconnect(): void {
    const wait = Math.min(this.options.reconnectMaxMs, this.options.reconnectInitialMs * 2 ** Math.min(this.attempt, 20));
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => void this.connect(), wait);
    this.reconnectTimer.unref();
  }

  private received(text: string | undefined): void {
    const payload = parsePayload(text);
    if (!payload) {
      this.options.logger.warn({ payload: text?.slice(0, 200) }, 'ignored a malformed change notification');
      return;
    }
    if (payload.o === this.origin) return;
    const first = this.pending.size === 0;
    this.pending.set(`${payload.t}\n${payload.k}`, { table: payload.t, key: payload.k });
    // One pass per burst: a change often publishes several events for one key (a user's row and their tokens).
    if (first) setTimeout(() => void this.flush(), this.options.coalesceMs).unref();
  }

  private async flush(): Promise<void> {
    const events = [...this.pending.values()];
    this.pending.clear();
    for (const event of events) {
      for (const handler of this.handlers.get(event.table) ?? []) {
        try {
          await handler(event.key);
        } catch (error) {
          this.options.logger.warn({ err: error, table: event.table, key: event.key }, 'could not apply a change from another replica; the next full re-read retries');
        }
      }
    }
  }

  /**
   * One full re-read at a time. A request during one runs once more after it (the
   * running one may have read before the change it is asked to cover); requests
   * made meanwhile share that one ('connected' wins, it clears more).
   */
  private resync(reason: ResyncReason): Promise<void> {
    if (this.resyncing) {
      this.again = this.again === 'connected' ? 'connected' : reason;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      for (let next: ResyncReason | undefined = reason; next !== undefined && !this.closed; next = this.again, this.again = undefined) {
        for (const handler of this.resyncHandlers) {
          try {
            await handler(next);
          } catch (error) {
            this.options.logger.warn({ err: error, reason: next }, 'a full re-read failed; the next one retries');
          }
        }
      }
    })().finally(() => { this.resyncing = undefined; });
    return this.resyncing;
  }
}
