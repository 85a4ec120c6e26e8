/**
 * The audit store's writer thread (`store-writer.ts`): its own better-sqlite3
 * connection to the store's file, one transaction per batch, so the commit's fsync
 * waits here and never on the main thread. Answers each request with its id, and the
 * error's message when it failed (a locked database: SQLITE_BUSY after busy_timeout).
 */
import { parentPort, workerData } from 'node:worker_threads';
// Only better-sqlite3 and its types: the store's module would load Kysely and pg into the thread too (about 20 MiB).
import SQLite from 'better-sqlite3';
import type { AuditEventsTable } from '../store/index.ts';

/** The file and the pragmas of the store's own connection (`sqlitePragmas`), passed in by `store-writer.ts`. */
export interface WriterData { file: string; pragmas: readonly string[] }
export type WriterRequest =
  | { id: number; op: 'insert'; rows: readonly AuditEventsTable[] }
  | { id: number; op: 'prune'; before: string }
  | { id: number; op: 'close' };
export interface WriterReply { id: number; error?: string }

const port = parentPort;
if (!port) throw new Error('store-writer-thread runs only as the audit store\'s worker thread (store-writer.ts starts it)');
const { file, pragmas } = workerData as WriterData;
const db = new SQLite(file, { fileMustExist: true });
for (const pragma of pragmas) db.pragma(pragma);
const insert = db.prepare<AuditEventsTable>('INSERT INTO audit_events (audit_id, received_at, user_id, username, cluster_id, verb, code, event) '
  + 'VALUES (@audit_id, @received_at, @user_id, @username, @cluster_id, @verb, @code, @event)');
const insertAll = db.transaction((rows: readonly AuditEventsTable[]) => {
  for (const row of rows) insert.run(row);
});
const prune = db.prepare<[string]>('DELETE FROM audit_events WHERE received_at < ?');
port.on('message', (request: WriterRequest) => {
  if (request.op === 'close') {
    db.close();
    port.close();
    return;
  }
  try {
    if (request.op === 'insert') insertAll(request.rows);
    else prune.run(request.before);
    port.postMessage({ id: request.id } satisfies WriterReply);
  } catch (error) {
    port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) } satisfies WriterReply);
  }
});
