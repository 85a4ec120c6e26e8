/**
 * Server-side state of browser logins through a redirect provider (GitHub,
 * OIDC). Nothing the browser brings back is trusted beyond the `state` key:
 * the nonce, the PKCE verifier, the redirect URI, the purpose and the CLI
 * request all stay here. Every entry is single use, expires after 10 minutes,
 * and the number of live entries is bounded, overall and per client address (a flood answers
 * 429; it cannot grow memory, and one address cannot crowd out the others).
 *
 * CLI logins (device style, no loopback listener): the CLI sends
 * `challenge = base64url(sha256(verifier))` and keeps the verifier; the browser
 * finishes the login; only the holder of the verifier can collect the token, once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DroverError } from '../../errors/index.ts';
import type { ProviderName, RedirectStart } from './types.ts';

export type LoginPurpose = 'ui' | 'cli' | 'test';

export interface PendingLogin {
  provider: ProviderName;
  purpose: LoginPurpose;
  pending: RedirectStart['pending'];
  /** The CLI or test request this login completes. */
  requestId?: string;
  /** purpose=ui: hash of the browser-binding cookie set when the login started. */
  browserBinding?: string;
  /** purpose=ui: a same-origin path to land on afterwards. */
  returnTo?: string;
}

/** What a finished CLI login hands the CLI. */
export interface IssuedLogin { token: string; tokenId: string; expiresAt?: string; user: { id: string; username: string } }

export const pendingTtlMs = 10 * 60_000;
export const defaultMaxEntries = 10_000;
export const defaultMaxPerAddress = 200;

interface Timed<T> { value: T; expiresAt: number; owner: string }

/** A bounded map whose entries expire; each owner (client address) holds at most `perOwner` of them. */
class ExpiringMap<T> {
  private readonly entries = new Map<string, Timed<T>>();
  private readonly owners = new Map<string, number>();
  constructor(private readonly max: number, private readonly perOwner: number, private readonly ttlMs: number, private readonly clock: () => number) {}

  add(key: string, value: T, owner: string): void {
    this.sweep();
    if (this.entries.size >= this.max) throw new DroverError('DRV_ERR_TOO_MANY_REQUESTS', 'too many logins are in progress; try again in a few minutes');
    const held = this.owners.get(owner) ?? 0;
    if (held >= this.perOwner) throw new DroverError('DRV_ERR_TOO_MANY_REQUESTS', 'too many unfinished logins from this address; finish one or try again in 10 minutes');
    this.entries.set(key, { value, expiresAt: this.clock() + this.ttlMs, owner });
    this.owners.set(owner, held + 1);
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock()) {
      this.delete(key);
      return undefined;
    }
    return entry.value;
  }

  take(key: string): T | undefined {
    const value = this.get(key);
    this.delete(key);
    return value;
  }

  get size(): number { return this.entries.size; }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const held = (this.owners.get(entry.owner) ?? 1) - 1;
    if (held <= 0) this.owners.delete(entry.owner);
    else this.owners.set(entry.owner, held);
  }

  private sweep(): void {
    const now = this.clock();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.delete(key);
  }
}

export function sha256url(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const challengePattern = /^[A-Za-z0-9_-]{43}$/;

interface CliRequest {
  provider: ProviderName;
  purpose: 'cli' | 'test';
  challenge?: string;
  /** Set once the browser login finished; taken (deleted) by the poll that collects it. */
  issued?: IssuedLogin;
  /** The login URL was opened: a second browser cannot reuse it. */
  started: boolean;
  /** Why the browser login failed, for the CLI's next poll. */
  failure?: { code: string; message: string };
}

export type CliPoll = { state: 'pending' } | { state: 'done'; issued: IssuedLogin };

export class RedirectLogins {
  private readonly pending: ExpiringMap<PendingLogin>;
  private readonly requests: ExpiringMap<CliRequest>;

  constructor(options: { maxEntries?: number; maxPerAddress?: number; ttlMs?: number; clock?: () => number } = {}) {
    const clock = options.clock ?? Date.now;
    const max = options.maxEntries ?? defaultMaxEntries;
    const perAddress = options.maxPerAddress ?? defaultMaxPerAddress;
    const ttl = options.ttlMs ?? pendingTtlMs;
    this.pending = new ExpiringMap(max, perAddress, ttl, clock);
    this.requests = new ExpiringMap(max, perAddress, ttl, clock);
  }

  /** Keeps a started login under its state (which the provider made: 32+ random bytes). */
  begin(login: PendingLogin, address: string): void {
    if (this.pending.get(login.pending.state)) throw new DroverError('DRV_ERR_INTERNAL', 'a login state was issued twice');
    this.pending.add(login.pending.state, login, address);
  }

  /** The login for a callback's state, removed so it can never be used again; 400 when unknown, used or expired. */
  finish(state: string | null, provider: ProviderName): PendingLogin {
    const login = state === null || state === '' || state.length > 512 ? undefined : this.pending.take(state);
    if (!login) throw new DroverError('DRV_ERR_BAD_REQUEST', 'this login callback is unknown, was already used, or has expired (10 minutes); start the login again');
    if (login.provider !== provider) throw new DroverError('DRV_ERR_BAD_REQUEST', `this login was started for ${login.provider}, not ${provider}; start the login again`);
    return login;
  }

  /** A CLI (or admin test) login request; the CLI later proves `sha256(verifier) == challenge`. */
  openRequest(address: string, provider: ProviderName, purpose: 'cli' | 'test', challenge?: string): string {
    if (purpose === 'cli' && (challenge === undefined || !challengePattern.test(challenge))) {
      throw new DroverError('DRV_ERR_BAD_REQUEST', 'challenge must be base64url(sha256(verifier)), 43 characters');
    }
    const id = `lr-${randomBytes(24).toString('base64url')}`;
    this.requests.add(id, { provider, purpose, started: false, ...(challenge === undefined ? {} : { challenge }) }, address);
    return id;
  }

  /** Marks a request's login URL as opened (once); 400 for an unknown, used or expired one. */
  startRequest(id: string | undefined, provider: ProviderName, purpose: 'cli' | 'test'): void {
    const request = id === undefined ? undefined : this.requests.get(id);
    if (!request || request.started || request.provider !== provider || request.purpose !== purpose) {
      throw new DroverError('DRV_ERR_BAD_REQUEST', 'this login link is unknown, was already opened, or has expired; start the login again from your terminal');
    }
    request.started = true;
  }

  /** Hands the issued token to the request (purpose=cli). */
  complete(id: string, issued: IssuedLogin): void {
    const request = this.requests.get(id);
    if (!request || request.issued) throw new DroverError('DRV_ERR_LOGIN_EXPIRED', 'the terminal login request expired before the browser finished; run drover login again');
    request.issued = issued;
  }

  /** Records why the browser login failed; the CLI's next poll reports it and the request ends. */
  fail(id: string, error: DroverError): void {
    const request = this.requests.get(id);
    if (request && !request.issued) request.failure = { code: error.code, message: error.message };
  }

  /** Ends a request that needs no token (purpose=test). */
  close(id: string): void { this.requests.take(id); }

  /** The CLI's poll: pending until the browser finishes, the token once, then 410. A wrong verifier is 400 and does not consume. */
  poll(id: string, verifier: string): CliPoll {
    const request = this.requests.get(id);
    if (!request || request.purpose !== 'cli' || request.challenge === undefined) {
      throw new DroverError('DRV_ERR_LOGIN_EXPIRED', 'this login request expired or was already used; run drover login again');
    }
    if (!sameText(sha256url(verifier), request.challenge)) throw new DroverError('DRV_ERR_BAD_REQUEST', 'the verifier does not match this login request');
    if (request.failure) {
      this.requests.take(id);
      throw new DroverError('DRV_ERR_UNAUTHENTICATED', `the browser login failed: ${request.failure.message}`);
    }
    if (!request.issued) return { state: 'pending' };
    this.requests.take(id);
    return { state: 'done', issued: request.issued };
  }

  /** Live entries, for tests and metrics. */
  get size(): { pending: number; requests: number } { return { pending: this.pending.size, requests: this.requests.size }; }
}
