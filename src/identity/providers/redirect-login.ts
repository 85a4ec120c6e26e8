/**
 * Server-side state of browser logins through a redirect provider (GitHub,
 * OIDC). Nothing the browser brings back is trusted beyond the `state` key:
 * the nonce, the PKCE verifier, the redirect URI, the purpose and the CLI
 * request all stay on the server. Every entry is single use, expires after 10
 * minutes, and the number of live entries is bounded, overall and per client
 * address (a flood answers 429; it cannot grow the table without bound, and one
 * address cannot crowd out the others).
 *
 * The state lives in the database (`login_flows`, migration 0013), not in this
 * process, so a login started on one replica finishes on any other behind a load
 * balancer without session affinity. Keys are stored as SHA-256 hashes, the
 * pending login (nonce, PKCE verifier) and the token waiting for the CLI are
 * encrypted with the encryption key, and every use that must happen once (a
 * callback, the token handed to the CLI) is one conditional statement
 * (`DELETE … RETURNING`, `UPDATE … WHERE`), so two replicas racing on the same
 * entry cannot both win. Expired rows are deleted whenever a new entry is added.
 *
 * CLI logins (device style, no loopback listener): the CLI sends
 * `challenge = base64url(sha256(verifier))` and keeps the verifier; the browser
 * finishes the login; only the holder of the verifier can collect the token, once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { DroverError } from '../../errors/index.ts';
import type { Database, SecretBox } from '../../store/index.ts';
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

function unusableLink(): DroverError {
  return new DroverError('DRV_ERR_BAD_REQUEST', 'this login link is unknown, was already opened, or has expired; start the login again from your terminal');
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

/** Letters no one misreads (RFC 8628 §6.1: no vowels, so no words), 20 of them. */
const userCodeAlphabet = 'BCDFGHJKLMNPQRSTVWXZ';

/**
 * A terminal login's one-time code, `XXXX-XXXX`, derived from its challenge: the terminal
 * prints it, and the browser page the login link opens asks for it before going to the
 * provider. So a login link someone else started, sent to a victim whose provider session
 * would answer without a prompt, does not silently hand the victim's token to the sender:
 * the victim would have to type a code they were given (RFC 8628 §5.4). The code is no
 * secret from whoever started the request; the page's form is bound to the browser that
 * showed it (a SameSite=Strict cookie), so another site cannot submit it.
 */
export function userCodeFor(challenge: string): string {
  const digest = createHash('sha256').update(`drover-user-code:${challenge}`).digest();
  const letters = [...digest.subarray(0, 8)].map((byte) => userCodeAlphabet[byte % userCodeAlphabet.length] ?? 'B').join('');
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

/** A typed code as the page compares it: case, spaces and dashes aside. */
export function sameUserCode(typed: string, expected: string): boolean {
  const normal = (code: string): string => code.toUpperCase().replace(/[\s-]/g, '');
  return sameText(normal(typed), normal(expected));
}

type FlowKind = 'callback' | 'request';

/** The row's key: a hash, so a database reader learns no state or request id it could present. */
const rowId = (kind: FlowKind, key: string): string => sha256url(`${kind}:${key}`);
/** Associated data of a row's encrypted payload: a payload copied to another row does not decrypt. */
const payloadLabel = (id: string): string => `login-flow/${id}`;

export type CliPoll = { state: 'pending' } | { state: 'done'; issued: IssuedLogin };

export interface RedirectLoginsOptions {
  db: Kysely<Database>;
  box: SecretBox;
  maxEntries?: number;
  maxPerAddress?: number;
  ttlMs?: number;
  clock?: () => number;
}

export class RedirectLogins {
  private readonly db: Kysely<Database>;
  private readonly box: SecretBox;
  private readonly max: number;
  private readonly perAddress: number;
  private readonly ttlMs: number;
  private readonly clock: () => number;

  constructor(options: RedirectLoginsOptions) {
    this.db = options.db;
    this.box = options.box;
    this.max = options.maxEntries ?? defaultMaxEntries;
    this.perAddress = options.maxPerAddress ?? defaultMaxPerAddress;
    this.ttlMs = options.ttlMs ?? pendingTtlMs;
    this.clock = options.clock ?? Date.now;
  }

  /** Keeps a started login under its state (which the provider made: 32+ random bytes). */
  async begin(login: PendingLogin, address: string): Promise<void> {
    const id = rowId('callback', login.pending.state);
    await this.add({ id, kind: 'callback', provider: login.provider, purpose: login.purpose, address, payload: this.box.encrypt(JSON.stringify(login), payloadLabel(id)) });
  }

  /**
   * The login for a callback's state, deleted in the same statement that reads it, so it can
   * never be used again (on this replica or another); 400 when unknown, used, expired, or
   * started for another provider (it is spent then too).
   */
  async finish(state: string | null, provider: ProviderName): Promise<PendingLogin> {
    const row = state === null || state === '' || state.length > 512 ? undefined
      : await this.db.deleteFrom('login_flows').where('id', '=', rowId('callback', state)).where('kind', '=', 'callback')
        .returning(['id', 'expires_at', 'payload']).executeTakeFirst();
    if (!row?.payload) throw new DroverError('DRV_ERR_BAD_REQUEST', 'this login callback is unknown or was already used; start the login again');
    if (Number(row.expires_at) <= this.clock()) throw new DroverError('DRV_ERR_BAD_REQUEST', `this login has expired (a login must finish within ${Math.round(this.ttlMs / 60_000)} minutes of its start); start the login again`);
    const login = JSON.parse(this.box.decrypt(row.payload, payloadLabel(row.id))) as PendingLogin;
    if (login.provider !== provider) throw new DroverError('DRV_ERR_BAD_REQUEST', `this login was started for ${login.provider}, not ${provider}; start the login again`);
    return login;
  }

  /** A CLI (or admin test) login request; the CLI later proves `sha256(verifier) == challenge`. */
  async openRequest(address: string, provider: ProviderName, purpose: 'cli' | 'test', challenge?: string): Promise<string> {
    if (purpose === 'cli' && (challenge === undefined || !challengePattern.test(challenge))) {
      throw new DroverError('DRV_ERR_BAD_REQUEST', 'challenge must be base64url(sha256(verifier)), 43 characters');
    }
    const requestId = `lr-${randomBytes(24).toString('base64url')}`;
    await this.add({ id: rowId('request', requestId), kind: 'request', provider, purpose, address, challenge: challenge ?? null });
    return requestId;
  }

  /** The challenge of a terminal request whose login link was not used yet; 400 for an unknown, used or expired one. */
  async unstartedChallenge(requestId: string | undefined, provider: ProviderName): Promise<string> {
    const row = requestId === undefined ? undefined
      : await this.db.selectFrom('login_flows').select('challenge').where(this.liveRequest(requestId))
        .where('started', '=', 0).where('provider', '=', provider).where('purpose', '=', 'cli').executeTakeFirst();
    if (!row?.challenge) throw unusableLink();
    return row.challenge;
  }

  /** Marks a request's login URL as opened (once, one statement); 400 for an unknown, used or expired one. */
  async startRequest(requestId: string | undefined, provider: ProviderName, purpose: 'cli' | 'test'): Promise<void> {
    const result = requestId === undefined ? undefined
      : await this.db.updateTable('login_flows').set({ started: 1 }).where(this.liveRequest(requestId))
        .where('started', '=', 0).where('provider', '=', provider).where('purpose', '=', purpose).executeTakeFirst();
    if (result?.numUpdatedRows !== 1n) throw unusableLink();
  }

  /** Hands the issued token (encrypted) to the request (purpose=cli). */
  async complete(requestId: string, issued: IssuedLogin): Promise<void> {
    const id = rowId('request', requestId);
    const result = await this.db.updateTable('login_flows').set({ payload: this.box.encrypt(JSON.stringify(issued), payloadLabel(id)) }).where(this.liveRequest(requestId))
      .where('payload', 'is', null).executeTakeFirst();
    if (result.numUpdatedRows !== 1n) throw new DroverError('DRV_ERR_LOGIN_EXPIRED', 'the terminal login request expired before the browser finished; run drover login again');
  }

  /** Records why the browser login failed; the CLI's next poll reports it and the request ends. */
  async fail(requestId: string, error: DroverError): Promise<void> {
    await this.db.updateTable('login_flows').set({ failure: JSON.stringify({ code: error.code, message: error.message }) }).where(this.liveRequest(requestId))
      .where('payload', 'is', null).execute();
  }

  /** Ends a request that needs no token (purpose=test). */
  async close(requestId: string): Promise<void> {
    await this.db.deleteFrom('login_flows').where('id', '=', rowId('request', requestId)).execute();
  }

  /**
   * The CLI's poll: pending until the browser finishes, the token once (taken with one
   * `DELETE … RETURNING`, so two polls racing on two replicas cannot both get it), then 410.
   * A wrong verifier is 400 and does not consume.
   */
  async poll(requestId: string, verifier: string): Promise<CliPoll> {
    const id = rowId('request', requestId);
    const request = await this.db.selectFrom('login_flows').select(['purpose', 'challenge', 'payload', 'failure']).where(this.liveRequest(requestId)).executeTakeFirst();
    if (!request || request.purpose !== 'cli' || request.challenge === null) {
      throw new DroverError('DRV_ERR_LOGIN_EXPIRED', 'this login request expired or was already used; run drover login again');
    }
    if (!sameText(sha256url(verifier), request.challenge)) throw new DroverError('DRV_ERR_BAD_REQUEST', 'the verifier does not match this login request');
    if (request.failure !== null) {
      await this.close(requestId);
      const failure = JSON.parse(request.failure) as { message: string };
      throw new DroverError('DRV_ERR_UNAUTHENTICATED', `the browser login failed: ${failure.message}`);
    }
    if (request.payload === null) return { state: 'pending' };
    const taken = await this.db.deleteFrom('login_flows').where('id', '=', id).where('payload', 'is not', null).returning('payload').executeTakeFirst();
    if (!taken?.payload) throw new DroverError('DRV_ERR_LOGIN_EXPIRED', 'this login request expired or was already used; run drover login again');
    return { state: 'done', issued: JSON.parse(this.box.decrypt(taken.payload, payloadLabel(id))) as IssuedLogin };
  }

  /** Live entries, for tests and metrics. */
  async size(): Promise<{ pending: number; requests: number }> {
    const rows = await this.db.selectFrom('login_flows').select(['kind', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('expires_at', '>', this.clock()).groupBy('kind').execute();
    const count = (kind: FlowKind): number => Number(rows.find((r) => r.kind === kind)?.n ?? 0);
    return { pending: count('callback'), requests: count('request') };
  }

  /** The condition "the unexpired request row of `requestId`". */
  private liveRequest(requestId: string) {
    const now = this.clock();
    return (eb: ExpressionBuilder<Database, 'login_flows'>) =>
      eb.and([eb('id', '=', rowId('request', requestId)), eb('kind', '=', 'request'), eb('expires_at', '>', now)]);
  }

  /** Inserts a new entry within the bounds, deleting expired rows first (they would count otherwise). */
  private async add(row: { id: string; kind: FlowKind; provider: ProviderName; purpose: LoginPurpose; address: string; challenge?: string | null; payload?: string }): Promise<void> {
    const now = this.clock();
    await this.db.deleteFrom('login_flows').where('expires_at', '<=', now).execute();
    const held = await this.db.selectFrom('login_flows')
      .select([(eb) => eb.fn.countAll<number | string>().as('total'), sql<number | string | null>`sum(case when address = ${row.address} then 1 else 0 end)`.as('mine')])
      .where('kind', '=', row.kind).executeTakeFirstOrThrow();
    if (Number(held.total) >= this.max) throw new DroverError('DRV_ERR_TOO_MANY_REQUESTS', 'too many logins are in progress; try again in a few minutes');
    if (Number(held.mine ?? 0) >= this.perAddress) throw new DroverError('DRV_ERR_TOO_MANY_REQUESTS', 'too many unfinished logins from this address; finish one or try again in 10 minutes');
    const inserted = await this.db.insertInto('login_flows')
      .values({ ...row, challenge: row.challenge ?? null, payload: row.payload ?? null, failure: null, started: 0, expires_at: now + this.ttlMs })
      .onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
    if (inserted.numInsertedOrUpdatedRows !== 1n) throw new DroverError('DRV_ERR_INTERNAL', 'a login state was issued twice');
  }
}
