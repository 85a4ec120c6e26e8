/**
 * Structured logs (pino). Convention: a constant message plus fields
 * (`{ cluster, userId, requestId }`), never values interpolated into the message.
 *
 * Levels: error = a 5xx or a broken invariant; warn = degraded but working; info =
 * lifecycle and 4xx answers; debug = decisions, and never secrets; trace = usernames
 * and request detail. Secrets never reach any level: the redaction list below is a
 * second line of defence, not the first.
 *
 * Format: JSON lines for log collectors, or one readable line per entry for a person
 * (`log-text.ts`); `auto` picks text when the destination is a terminal.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { InvalidArgumentError } from '../errors/index.ts';
import { textDestination } from './log-text.ts';

export type { Logger } from 'pino';

const redactPaths = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'authorization', '*.authorization',
  'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie',
  '*.headers.authorization', '*.headers.cookie', 'credential', '*.credential',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = typeof LOG_LEVELS[number];
export const LOG_FORMATS = ['auto', 'text', 'json'] as const;
export type LogFormat = typeof LOG_FORMATS[number];

/** A writable text sink: process.stderr, or a test's stream. */
export interface LogSink { write(text: string): unknown; isTTY?: boolean }

export interface LogOptions {
  /** Default: info. Each role reads `--log-level`/`DROVER_LOG_LEVEL` in its own configuration. */
  level?: LogLevel;
  /** Default: auto (text on a terminal, JSON otherwise). */
  format?: LogFormat;
  /** Where to write; stderr by default so command output on stdout stays clean. */
  destination?: LogSink;
  name?: string;
}

/** `--log-level` / `DROVER_LOG_LEVEL`, checked: the flag wins over the variable. */
export function logLevelOption(option: string, value: string | undefined): LogLevel | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(option, `one of ${LOG_LEVELS.join(', ')}`, value);
  return value as LogLevel;
}

/** `--log-format` / `DROVER_LOG_FORMAT`, checked. */
export function logFormatOption(option: string, value: string | undefined): LogFormat | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(LOG_FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(option, `one of ${LOG_FORMATS.join(', ')}`, value);
  return value as LogFormat;
}

/** `auto` decided: text when the sink (stderr by default) is a terminal. */
export function resolvedLogFormat(format: LogFormat, sink?: LogSink): 'text' | 'json' {
  if (format !== 'auto') return format;
  return (sink === undefined ? process.stderr.isTTY : sink.isTTY === true) ? 'text' : 'json';
}

function destinationFor(format: LogFormat, sink: LogSink | undefined): DestinationStream {
  const tty = sink === undefined ? process.stderr.isTTY : sink.isTTY === true;
  if (resolvedLogFormat(format, sink) === 'text') return textDestination(sink ?? process.stderr, { color: tty });
  return sink === undefined ? pino.destination(2) : { write: (line: string) => { sink.write(line); } };
}

export function createLogger(options: LogOptions = {}): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'auto';
  return pino({
    level,
    ...(options.name ? { name: options.name } : {}),
    base: { pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, destinationFor(format, options.destination));
}

/** A logger that drops everything, for tests and quiet commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
