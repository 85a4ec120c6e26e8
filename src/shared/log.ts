/**
 * Structured JSON logs (pino). Convention: a constant message plus fields
 * (`{ cluster, userId, requestId }`), never values interpolated into the message.
 *
 * Levels: error = a 5xx or a broken invariant; warn = degraded but working; info =
 * lifecycle and 4xx answers; debug = decisions, and never secrets; trace = usernames
 * and request detail. Secrets never reach any level: the redaction list below is a
 * second line of defence, not the first.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

const redactPaths = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'authorization', '*.authorization',
  'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie',
  '*.headers.authorization', '*.headers.cookie', 'credential', '*.credential',
];

export interface LogOptions {
  level?: string;
  /** Where to write; stderr by default so command output on stdout stays clean. */
  destination?: DestinationStream;
  name?: string;
}

export function createLogger(options: LogOptions = {}): Logger {
  return pino({
    level: options.level ?? process.env.DROVER_LOG_LEVEL ?? 'info',
    ...(options.name ? { name: options.name } : {}),
    base: { pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, options.destination ?? pino.destination(2));
}

/** A logger that drops everything, for tests and quiet commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
