/**
 * Durations as people type them: `90s`, `15m`, `1h`, `7d`, or compounds like `1h30m`.
 * A plain number is seconds, so scripts written for the old seconds-only flags keep
 * working. One parser for every TTL and grace flag, so they all accept the same text.
 */
import { InvalidArgumentError } from '../errors/index.ts';

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const durationPattern = /^(?:\d+[smhd])+$/;

/** What every duration flag's help and error says it takes. */
export const DURATION_HINT = 'a duration like 90s, 15m, 1h or 7d (a plain number is seconds)';

/** Seconds in `text`, or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (!durationPattern.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)([smhd])/g)) total += Number(amount) * (unitSeconds[unit ?? 's'] ?? 1);
  return total;
}

/**
 * Seconds of a duration option; throws naming `option` when the text is not a duration
 * or is below `min` seconds.
 */
export function durationOption(option: string, text: string, bounds: { min?: number } = {}): number {
  const seconds = parseDuration(text);
  if (seconds === undefined || !Number.isSafeInteger(seconds)) throw new InvalidArgumentError(option, DURATION_HINT, text);
  const min = bounds.min ?? 0;
  if (seconds < min) throw new InvalidArgumentError(option, `at least ${formatDuration(min)}`, text);
  return seconds;
}

/** The shortest exact text for a number of seconds: 5400 → `1h30m`, 0 → `0s`. */
export function formatDuration(seconds: number): string {
  let rest = Math.floor(seconds);
  let text = '';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text || '0s';
}
