/**
 * Where the store sink's rows go. On a SQLite file, a worker thread with its own
 * connection writes them: better-sqlite3 is synchronous, so on the main thread each
 * batch's insert and its fsync (synchronous=FULL) stalled every request in flight, by
 * 11–52 ms a second under load. WAL lets the two connections write side by side (each
 * waits up to `busy_timeout` for the other's lock, the thread's wait stalls nothing).
 * On PostgreSQL, and a SQLite database in memory (private to its connection), the
 * store's own Kysely: PostgreSQL's driver is asynchronous already.
 */
import { once } from 'node:events';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import { sqlitePragmas, type AuditEventsTable, type Database } from '../store/index.ts';
import type { WriterData, WriterReply, WriterRequest } from './store-writer-thread.ts';

export interface AuditRowWriter {
  insert(rows: readonly AuditEventsTable[]): Promise<void>;
  /** Deletes the rows received before this MicroTime. */
  prune(before: string): Promise<void>;
  close(): Promise<void>;
}

/** Rows per INSERT: below SQLite's default limit of bound parameters (8 columns a row). */
const rowsPerInsert = 100;

export function kyselyRowWriter(db: Kysely<Database>): AuditRowWriter {
  return {
    insert: (rows) => db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += rowsPerInsert) await tx.insertInto('audit_events').values(rows.slice(i, i + rowsPerInsert)).execute();
    }),
    prune: async (before) => {
      await db.deleteFrom('audit_events').where('received_at', '<', before).execute();
    },
    close: () => Promise.resolve(),
  };
}

/** The thread's script beside this module: `.ts` when run from the sources, `.js` once built. */
const threadScript = new URL(`./store-writer-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

export interface ThreadRowWriterOptions {
  /** How long a write waits for another connection's lock before it fails (ms; tests shorten it). */
  busyTimeoutMs?: number;
  /** The thread's script (tests: one that dies). */
  script?: URL;
  /** How long after a thread stopped the next one may start (ms); batches in between are dropped. */
  restartDelayMs?: number;
}

type Call = { op: 'insert'; rows: readonly AuditEventsTable[] } | { op: 'prune'; before: string };

class ThreadRowWriter implements AuditRowWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private lastId = 0;
  private closed = false;
  /** Why the last thread stopped, until a new one may start: a thread that cannot start must not be restarted at every batch. */
  private lastStop: { error: Error; until: number } | undefined;

  constructor(private readonly file: string, private readonly options: ThreadRowWriterOptions) {}

  insert(rows: readonly AuditEventsTable[]): Promise<void> {
    return this.call({ op: 'insert', rows });
  }

  prune(before: string): Promise<void> {
    return this.call({ op: 'prune', before });
  }

  /** The thread, started at the first call and again a while after it stopped: a thread that died costs the batches it held, not the trail. */
  private thread(): Worker {
    if (this.worker) return this.worker;
    if (this.lastStop && Date.now() < this.lastStop.until) throw this.lastStop.error;
    const worker = new Worker(this.options.script ?? threadScript, { workerData: { file: this.file, pragmas: sqlitePragmas(this.options.busyTimeoutMs) } satisfies WriterData });
    // Held open only while a call waits for it, so an idle trail never keeps the process alive.
    worker.unref();
    worker.on('message', (reply: WriterReply) => this.settle(reply));
    worker.on('error', (error: Error) => this.stopped(worker, `it failed: ${error.message}`));
    worker.on('exit', (code) => this.stopped(worker, `it exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private async call(call: Call): Promise<void> {
    if (this.closed) throw new Error('the audit store writer is closed; the server is stopping');
    const worker = this.thread();
    const id = ++this.lastId;
    await new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ ...call, id } satisfies WriterRequest);
    });
  }

  private settle(reply: WriterReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.error === undefined) waiting.resolve();
    else waiting.reject(new Error(`writing audit events to ${this.file} failed: ${reply.error}; check the disk and whatever else holds the database's lock`));
  }

  private stopped(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    const delayMs = this.options.restartDelayMs ?? 5000;
    const error = new Error(`the audit store's writer thread for ${this.file} stopped (${why}); the batches it held and those of the next ${delayMs / 1000} s are lost, then a new thread starts`);
    this.lastStop = { error, until: Date.now() + delayMs };
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = once(worker, 'exit');
    worker.ref();
    worker.postMessage({ op: 'close', id: ++this.lastId } satisfies WriterRequest);
    await exited;
  }
}

export function threadRowWriter(file: string, options: ThreadRowWriterOptions = {}): AuditRowWriter {
  return new ThreadRowWriter(file, options);
}
