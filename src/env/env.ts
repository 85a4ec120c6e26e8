/**
 * Reading numeric environment knobs. `Number("15OO")` is NaN and a NaN interval is a
 * timer that fires at once in a loop; a typo must stop the start instead, naming the
 * variable.
 */
import { InvalidArgumentError } from '../errors/index.ts';

/** A whole number of at least `min` from `env[name]`; undefined when unset or empty. */
export function envInteger(env: NodeJS.ProcessEnv, name: string, bounds: { min: number; unit: string }): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < bounds.min) {
    throw new InvalidArgumentError(name, `a whole number of ${bounds.unit}, at least ${bounds.min}`, raw);
  }
  return value;
}
