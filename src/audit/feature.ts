/** Puts the audit trail together from the server's audit options: the policy and the configured sinks, with their drop counters. */
import type { Writable } from 'node:stream';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logging/index.ts';
import type { AuditConfig } from './options.ts';
import { AuditTrail, type AuditSink } from './trail.ts';
import { fileSink, streamSink } from './file-sink.ts';
import { webhookSink } from './webhook-sink.ts';
import { storeSink } from './store-sink.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';

/** Events held per sink before new ones are dropped (kube-apiserver's buffer size). */
export const maxBufferedEvents = 10_000;

export interface AuditFeatureOptions {
  config: AuditConfig;
  registry: Registry;
  logger: Logger;
  /** Extra sinks (tests). */
  sinks?: AuditSink[];
  /** Where recent events are kept for search (`--audit-retention`; 0 keeps none). */
  db?: Kysely<Database>;
  /** The store's SQLite file, when it is one: its rows are then written by a thread of their own (`store-writer.ts`). */
  dbFile?: string;
  /** Where `--audit-log -` writes (stdout). */
  stdout?: Writable;
  /** Tests shorten the webhook's batch wait and backoff. */
  webhookTiming?: { batchWaitMs?: number; initialBackoffMs?: number };
}

/** The trail, or undefined when no sink is configured (nothing to record into). */
export function createAuditTrail(options: AuditFeatureOptions): AuditTrail | undefined {
  const { config, logger } = options;
  const dropped = new Counter({
    name: 'drover_audit_events_dropped_total', help: 'Audit events dropped because a sink\'s buffer was full', labelNames: ['sink'], registers: [options.registry],
  });
  const errorsLogged = new Set<string>();
  const hooks = (sink: string) => ({
    maxBuffered: maxBufferedEvents,
    onDrop: (n: number) => dropped.inc({ sink }, n),
    onError: (error: unknown) => {
      // One line per sink and message: a full disk must not become a log line per event.
      const key = `${sink}:${(error as Error).message}`;
      if (errorsLogged.has(key)) return;
      errorsLogged.add(key);
      logger.error({ sink, err: error }, 'audit sink could not write; events are lost until it recovers');
    },
  });
  const sinks: AuditSink[] = [...(options.sinks ?? [])];
  if (config.log === '-') sinks.push(streamSink(options.stdout ?? process.stdout, hooks('stdout')));
  else if (config.log !== undefined) {
    sinks.push(fileSink({ path: config.log, maxBytes: config.logMaxBytes, maxBackups: config.logMaxBackups, maxAgeMs: config.logMaxAgeMs, ...hooks('file') }));
  }
  if (options.db && config.retentionMs > 0) sinks.push(storeSink({ db: options.db, ...(options.dbFile === undefined ? {} : { file: options.dbFile }), retentionMs: config.retentionMs, ...hooks('store') }));
  if (config.webhook) sinks.push(webhookSink({ target: config.webhook, ...hooks('webhook'), ...(options.webhookTiming ?? {}) }));
  if (sinks.length === 0) return undefined;
  return new AuditTrail({ policy: config.policy, sinks });
}
