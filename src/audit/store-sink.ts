/**
 * The searchable copy of recent events: completed events written to `audit_events` in
 * batches (one transaction per second at most) by `store-writer.ts`, on a thread of
 * its own for a SQLite file, so the proxy never waits on the database or its fsync;
 * rows older than the retention are deleted every hour. A database that is down or
 * locked loses the batch (counted as dropped); the file and webhook sinks are the record.
 */
import type { Kysely } from 'kysely';
import type { AuditEventsTable, Database } from '../store/index.ts';
import { BufferedSink } from './buffered-sink.ts';
import { microTime, type AuditEvent } from './event.ts';
import { kyselyRowWriter, threadRowWriter, type ThreadRowWriterOptions } from './store-writer.ts';

export interface StoreSinkOptions {
  db: Kysely<Database>;
  /** The store's SQLite file (`Store.file`): rows are then written by a thread of their own. */
  file?: string;
  /** Rows older than this are deleted (ms). */
  retentionMs: number;
  maxBuffered: number;
  batchWaitMs?: number;
  onDrop: (count: number) => void;
  onError: (error: unknown) => void;
  now?: () => number;
  /** The writer thread's settings (tests). */
  thread?: ThreadRowWriterOptions;
}

export function storeSink(options: StoreSinkOptions): BufferedSink<AuditEventsTable | undefined> {
  const now = options.now ?? Date.now;
  const writer = options.file === undefined ? kyselyRowWriter(options.db) : threadRowWriter(options.file, options.thread);
  const prune = (): Promise<void> => writer.prune(microTime(now() - options.retentionMs));
  const pruning = setInterval(() => { prune().catch(options.onError); }, 3600_000);
  pruning.unref();
  prune().catch(options.onError);
  return new BufferedSink<AuditEventsTable | undefined>({
    // Only the completed exchange is searchable: a watch's ResponseStarted would list it twice.
    map: (line, event) => (event.stage === 'ResponseComplete' ? {
      audit_id: event.auditID, received_at: event.requestReceivedTimestamp, user_id: event.user.username, username: event.user.extra?.username?.[0] ?? null,
      cluster_id: event.annotations?.['drover.dev/cluster-id'] ?? null, verb: event.verb, code: event.responseStatus?.code ?? 0, event: line,
    } : undefined),
    flush: async (rows) => {
      const kept = rows.filter((r): r is AuditEventsTable => r !== undefined);
      if (kept.length === 0) return;
      try {
        await writer.insert(kept);
      } catch (error) {
        options.onDrop(kept.length);
        throw error;
      }
    },
    maxBuffered: options.maxBuffered, maxBatch: 2000, batchDelayMs: options.batchWaitMs ?? 1000, onDrop: options.onDrop, onError: options.onError,
    release: () => {
      clearInterval(pruning);
      return writer.close();
    },
  });
}

export interface AuditQuery {
  /** A Drover user id or username. */
  user?: string;
  clusterId?: string;
  verb?: string;
  /** Only events received at or after this time (ms). */
  sinceMs?: number;
  limit: number;
}

/** Recent events, newest first. */
export async function searchAuditEvents(db: Kysely<Database>, query: AuditQuery): Promise<AuditEvent[]> {
  let q = db.selectFrom('audit_events').select('event').orderBy('received_at', 'desc').limit(query.limit);
  if (query.user !== undefined) {
    const user = query.user;
    q = q.where((eb) => eb.or([eb('user_id', '=', user), eb('username', '=', user)]));
  }
  if (query.clusterId !== undefined) q = q.where('cluster_id', '=', query.clusterId);
  if (query.verb !== undefined) q = q.where('verb', '=', query.verb);
  if (query.sinceMs !== undefined) q = q.where('received_at', '>=', microTime(query.sinceMs));
  return (await q.execute()).map((row) => JSON.parse(row.event) as AuditEvent);
}
