/**
 * Brute-force brake for password logins, per username and per client address.
 * After `slowdownAfter` failures within `windowMs` each further attempt waits
 * `slowdownMs`; after `maxFailures` the key is locked for `lockoutMs`, and every
 * attempt (even with the right password) gets 429 with Retry-After until then.
 * In memory, per replica: with N replicas an attacker gets N times the budget.
 */
import { DroverError } from '../errors/index.ts';
import type { Clock } from './types.ts';

export interface ThrottlePolicy {
  windowMs: number;
  slowdownAfter: number;
  slowdownMs: number;
  maxFailures: number;
  lockoutMs: number;
}

export interface LoginThrottleOptions {
  clock: Clock;
  perUsername?: Partial<ThrottlePolicy>;
  perAddress?: Partial<ThrottlePolicy>;
  maxKeys?: number;
}

const defaultUsername: ThrottlePolicy = { windowMs: 15 * 60_000, slowdownAfter: 3, slowdownMs: 1_000, maxFailures: 10, lockoutMs: 15 * 60_000 };
const defaultAddress: ThrottlePolicy = { windowMs: 15 * 60_000, slowdownAfter: 10, slowdownMs: 1_000, maxFailures: 50, lockoutMs: 15 * 60_000 };

interface Counter { failures: number; firstAt: number; lockedUntil: number }

export class LoginThrottle {
  private readonly clock: Clock;
  private readonly policies: { user: ThrottlePolicy; addr: ThrottlePolicy };
  private readonly maxKeys: number;
  private readonly counters = new Map<string, Counter>();

  constructor(options: LoginThrottleOptions) {
    this.clock = options.clock;
    this.policies = { user: { ...defaultUsername, ...options.perUsername }, addr: { ...defaultAddress, ...options.perAddress } };
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  private keys(username: string, address: string): Array<[string, ThrottlePolicy]> {
    return [[`user:${username.toLowerCase()}`, this.policies.user], [`addr:${address}`, this.policies.addr]];
  }

  private live(key: string, policy: ThrottlePolicy, now: number): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && now >= counter.lockedUntil && now - counter.firstAt > policy.windowMs) {
      this.counters.delete(key);
      return undefined;
    }
    return counter;
  }

  /** Throws 429 while either key is locked; otherwise returns how long to wait first (ms). */
  check(username: string, address: string): number {
    const now = this.clock();
    let delay = 0;
    for (const [key, policy] of this.keys(username, address)) {
      const counter = this.live(key, policy, now);
      if (!counter) continue;
      if (now < counter.lockedUntil) {
        const seconds = Math.ceil((counter.lockedUntil - now) / 1000);
        throw new DroverError('DRV_ERR_TOO_MANY_REQUESTS',
          `too many failed logins ${key.startsWith('user:') ? 'for this user' : 'from this address'}: try again in ${seconds} s`,
          { retryAfterSeconds: seconds });
      }
      if (counter.failures >= policy.slowdownAfter) delay = Math.max(delay, policy.slowdownMs);
    }
    return delay;
  }

  recordFailure(username: string, address: string): void {
    const now = this.clock();
    for (const [key, policy] of this.keys(username, address)) {
      const counter = this.live(key, policy, now) ?? { failures: 0, firstAt: now, lockedUntil: 0 };
      counter.failures++;
      if (counter.failures >= policy.maxFailures) {
        counter.lockedUntil = now + policy.lockoutMs;
        // A fresh window starts when the lock ends.
        counter.failures = 0;
        counter.firstAt = counter.lockedUntil;
      }
      this.counters.delete(key);
      this.counters.set(key, counter);
    }
    while (this.counters.size > this.maxKeys) {
      const oldest = this.counters.keys().next().value;
      if (oldest === undefined) break;
      this.counters.delete(oldest);
    }
  }

  /** A good login clears the username's failures (not the address's). */
  recordSuccess(username: string): void {
    this.counters.delete(`user:${username.toLowerCase()}`);
  }
}
