/** Exponential backoff with full jitter (a uniformly random wait up to the capped exponential), for agent reconnects. */
import { InvalidArgumentError } from '../errors/index.ts';

export interface BackoffOptions { initialMs: number; maxMs: number }

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    if (!Number.isFinite(options.initialMs) || options.initialMs <= 0) throw new InvalidArgumentError('backoff.initialMs', 'a positive number of milliseconds', options.initialMs);
    if (!Number.isFinite(options.maxMs) || options.maxMs < options.initialMs) throw new InvalidArgumentError('backoff.maxMs', 'a number of milliseconds >= initialMs', options.maxMs);
    this.initialMs = options.initialMs;
    this.maxMs = options.maxMs;
    this.random = random;
  }

  /** The wait before the next attempt; each call doubles the ceiling up to maxMs. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.floor(this.random() * ceiling);
  }

  /** After a connection that worked: start again from initialMs. */
  reset(): void {
    this.attempt = 0;
  }
}
