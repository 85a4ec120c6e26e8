/**
 * The readable log format: pino still builds (and redacts) each JSON line; this
 * destination turns it into `HH:MM:SS.mmm LEVEL message key=value …` for a person at
 * a terminal. A dozen lines instead of pino-pretty and its fifteen packages (see the
 * dependency table in docs/architecture.md). A line that is not JSON passes through.
 */
import type { DestinationStream } from 'pino';

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const levelColors: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, shown in their own place or not at all. */
const placed = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'err']);

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

function errorText(err: unknown): string {
  if (typeof err !== 'object' || err === null) return ` err=${fieldText(err)}`;
  const { message, stack } = err as { message?: string; stack?: string };
  return stack ? `\n    ${stack.split('\n').join('\n    ')}` : ` err=${fieldText(message ?? err)}`;
}

/** One readable line for one pino JSON line. */
export function formatLogLine(line: string, options: { color?: boolean } = {}): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const name = levelNames[level] ?? String(level);
  const levelText = options.color ? `\u001b[${levelColors[level] ?? '0'}m${name.padEnd(5)}\u001b[0m` : name.padEnd(5);
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const fields = Object.entries(entry).filter(([key]) => !placed.has(key)).map(([key, value]) => `${key}=${fieldText(value)}`);
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  return `${[time, levelText, msg, ...fields].filter((part) => part !== '').join(' ')}${entry.err === undefined ? '' : errorText(entry.err)}\n`;
}

export function textDestination(sink: { write(text: string): unknown }, options: { color?: boolean } = {}): DestinationStream {
  return { write: (line: string) => { sink.write(formatLogLine(line.trimEnd(), options)); } };
}
