/**
 * The searchable copy of recent events: completed events written to `audit_events` in
 * batches (one multi-row insert per second at most), so the proxy never waits on the
 * database; rows older than the retention are deleted every hour. A database that is
 * down loses the batch (counted as dropped); the file and webhook sinks are the record.
 */
import type { Kysely } from 'kysely';
import type { AuditEventsTable, Database } from '../store/index.ts';
import { BufferedSink } from './buffered-sink.ts';
import { microTime, type AuditEvent } from './event.ts';

export interface StoreSinkOptions {
  db: Kysely<Database>;
  /** Rows older than this are deleted (ms). */
  retentionMs: number;
  maxBuffered: number;
  batchWaitMs?: number;
  onDrop: (count: number) => void;
  onError: (error: unknown) => void;
  now?: () => number;
}

/** Rows per INSERT: below SQLite's default limit of bound parameters (8 columns a row). */
const rowsPerInsert = 100;

export function storeSink(options: StoreSinkOptions): BufferedSink<AuditEventsTable | undefined> {
  const now = options.now ?? Date.now;
  const prune = async (): Promise<void> => {
    await options.db.deleteFrom('audit_events').where('received_at', '<', microTime(now() - options.retentionMs)).execute();
  };
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
      try {
        await options.db.transaction().execute(async (tx) => {
          for (let i = 0; i < kept.length; i += rowsPerInsert) await tx.insertInto('audit_events').values(kept.slice(i, i + rowsPerInsert)).execute();
        });
      } catch (error) {
        options.onDrop(kept.length);
        throw error;
      }
    },
    maxBuffered: options.maxBuffered, maxBatch: 2000, batchDelayMs: options.batchWaitMs ?? 1000, onDrop: options.onDrop, onError: options.onError,
    release: () => {
      clearInterval(pruning);
      return Promise.resolve();
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
