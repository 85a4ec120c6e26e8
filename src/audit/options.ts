/**
 * `drover server`'s audit flags, named as kube-apiserver names them so operators' habits
 * carry over: `--audit-log PATH|-`, `--audit-log-maxsize MB`, `--audit-log-maxbackup N`,
 * `--audit-log-maxage DAYS`, `--audit-policy FILE`, `--audit-webhook-config FILE`.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import { durationOption } from '../durations/index.ts';
import { defaultPolicy, loadPolicy, type AuditPolicy } from './policy.ts';
import { webhookTargetFromKubeconfig, type WebhookTarget } from './webhook-sink.ts';
import { recordingModes, type RecordingMode } from './session-recorder.ts';

export interface AuditFlags {
  auditLog?: string;
  auditLogMaxsize?: string;
  auditLogMaxbackup?: string;
  auditLogMaxage?: string;
  auditPolicy?: string;
  auditWebhookConfig?: string;
  auditRetention?: string;
  execRecordingRetention?: string;
  execRecording?: string;
}

export interface AuditConfig {
  policy: AuditPolicy;
  /** A file path, or `-` for stdout; absent: no log file. */
  log?: string;
  logMaxBytes: number;
  logMaxBackups: number;
  logMaxAgeMs: number;
  /** The webhook receiver, read from `--audit-webhook-config`; absent: no webhook. */
  webhook?: WebhookTarget;
  /** How long events stay searchable in the store (ms); 0: not stored. */
  retentionMs: number;
  /** Exec and attach recordings: none, when possible, or required (the exec is refused without one). */
  execRecording: RecordingMode;
  /** Recordings untouched for longer than this are deleted (ms); 0: kept. */
  execRecordingRetentionMs: number;
}

export const auditDefaults = { maxsizeMb: 100, maxbackup: 10, maxageDays: 30, retention: '7d', recordingRetention: '30d' } as const;

function count(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(option, 'a whole number (0: no limit)', value);
  return Number(value);
}

function recordingMode(value: string): RecordingMode {
  if (!recordingModes.includes(value as RecordingMode)) throw new InvalidArgumentError('--exec-recording', recordingModes.join(', '), value);
  return value as RecordingMode;
}

/** Parses every audit flag; throws the first mistake (the server's option check collects them). */
export function auditConfigFromFlags(flags: AuditFlags): AuditConfig {
  if (flags.auditLog === '') throw new InvalidArgumentError('--audit-log', 'a file path, or - for stdout', flags.auditLog);
  return {
    policy: flags.auditPolicy === undefined ? defaultPolicy : loadPolicy(flags.auditPolicy),
    ...(flags.auditLog === undefined ? {} : { log: flags.auditLog }),
    logMaxBytes: count('--audit-log-maxsize', flags.auditLogMaxsize, auditDefaults.maxsizeMb) * 1024 * 1024,
    logMaxBackups: count('--audit-log-maxbackup', flags.auditLogMaxbackup, auditDefaults.maxbackup),
    logMaxAgeMs: count('--audit-log-maxage', flags.auditLogMaxage, auditDefaults.maxageDays) * 86_400_000,
    ...(flags.auditWebhookConfig === undefined ? {} : { webhook: webhookTargetFromKubeconfig(flags.auditWebhookConfig) }),
    retentionMs: 1000 * (durationOption('--audit-retention', flags.auditRetention ?? auditDefaults.retention) ?? 0),
    execRecording: recordingMode(flags.execRecording ?? 'best-effort'),
    execRecordingRetentionMs: 1000 * (durationOption('--exec-recording-retention', flags.execRecordingRetention ?? auditDefaults.recordingRetention) ?? 0),
  };
}
