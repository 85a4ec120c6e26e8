/**
 * The web UI's session: the token lives in an HttpOnly cookie the page's script
 * never reads, and every request the cookie authenticates must also prove it
 * comes from our own page.
 *
 * Cookie `__Host-drover_session`: HttpOnly, Secure, SameSite=Strict, Path=/, no
 * Domain, Max-Age from the token's expiry. The `__Host-` prefix makes browsers
 * refuse the name from any other host and from any Set-Cookie with a Domain, so a
 * sibling host (`evil.example.com` next to `drover.example.com`) cannot plant a
 * session: without it, a planted cookie carrying the attacker's token logged the
 * victim's browser into the attacker's account (login CSRF through GET
 * /v1/session), and a second planted one broke every request. Cookies of any
 * other name, the old `drover_session` included, are ignored.
 *
 * The CSRF token is HMAC-SHA256(key, token id), handed to the page by POST/GET
 * /v1/session and sent back as `X-Drover-CSRF`; a page on another origin can
 * neither read it nor compute it.
 *
 * Refuses (see `credentialFrom`): a cookie-only request without the matching
 * CSRF token (compared in constant time), with an `Origin` other than the
 * server's public origin, or with `Sec-Fetch-Site` cross-site or same-site; a
 * request that carries both a cookie session and an Authorization header (400:
 * which identity was meant is ambiguous); two session cookies (400, clear the
 * cookies); a POST /v1/session from another origin (login CSRF); a GET
 * /v1/session that a browser did not send from our own page. Fails closed: where
 * no session settings were given (`installUiSessions` on the REST app, the proxy's
 * `uiSessions`), cookies are refused. What
 * a session may do while the user must change their password is the token's
 * business (src/identity), not the cookie's.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DroverError } from '../errors/index.ts';

export const sessionCookieName = '__Host-drover_session';
export const csrfHeaderName = 'x-drover-csrf';
/**
 * A browser's WebSocket cannot send headers, only subprotocols: the UI offers its CSRF
 * token as the subprotocol `csrf.drover.io.<token>` beside the real one
 * (`v5.channel.k8s.io`). Only upgrades read it there, and the proxy never forwards it.
 */
export const csrfProtocolPrefix = 'csrf.drover.io.';
const decoratorName = 'droverUiSessions';
const tokenValuePattern = /^(token-[a-z0-9]+):[A-Za-z0-9]{43}$/;

/** The server's session settings: the CSRF key and the only origin allowed to use the cookie. */
export class UiSessions {
  readonly publicOrigin: string | undefined;
  private readonly key: Buffer;

  constructor(options: { key: Buffer; publicUrl?: string }) {
    if (options.key.length < 32) throw new DroverError('DRV_ERR_INTERNAL', 'the UI session key must be at least 32 bytes');
    this.key = options.key;
    this.publicOrigin = options.publicUrl === undefined ? undefined : new URL(options.publicUrl).origin;
  }

  /** A key for the CSRF HMAC derived from the store's encryption key, so every replica agrees. */
  static keyFromEncryptionKey(encryptionKey: Buffer): Buffer {
    return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'drover ui session csrf v1', 32));
  }

  static randomKey(): Buffer {
    return randomBytes(32);
  }

  /** The CSRF token for a session token value (`token-<id>:<secret>`), bound to its id. */
  csrfFor(tokenValue: string): string {
    return createHmac('sha256', this.key).update(tokenIdOf(tokenValue)).digest('base64url');
  }

  /** Constant-time check of a CSRF header against the session's token. */
  csrfMatches(tokenValue: string, presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const given = Buffer.from(presented);
    const expected = Buffer.from(this.csrfFor(tokenValue));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function tokenIdOf(tokenValue: string): string {
  const match = tokenValuePattern.exec(tokenValue);
  if (!match?.[1]) throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'the session cookie is malformed: log in again');
  return match[1];
}

/**
 * Gives every route plugin of this app the session settings: `authenticateWith` accepts
 * the UI's cookie under them, and `setUiSession`/`clearUiSession` work.
 */
export function installUiSessions(app: FastifyInstance, sessions: UiSessions): void {
  app.decorate(decoratorName, sessions);
}

/** The session settings installed on the app a route belongs to (`request.server`); undefined: cookies are refused. */
export function uiSessionsOf(app: FastifyInstance): UiSessions | undefined {
  return app.hasDecorator(decoratorName) ? app.getDecorator<UiSessions>(decoratorName) : undefined;
}

function sessionsOf(reply: FastifyReply): UiSessions {
  const sessions = uiSessionsOf(reply.server);
  if (!sessions) throw new DroverError('DRV_ERR_INTERNAL', 'UI sessions are not configured on this server');
  return sessions;
}

/** Sets the session cookie for an issued token; returns the CSRF token the page must send back. */
export function setUiSession(reply: FastifyReply, issued: { value: string; expiresAt?: string }): { csrfToken: string } {
  const sessions = sessionsOf(reply);
  const csrfToken = sessions.csrfFor(issued.value);
  const attributes = [`${sessionCookieName}=${issued.value}`, 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict'];
  if (issued.expiresAt !== undefined) {
    const seconds = Math.floor((Date.parse(issued.expiresAt) - Date.now()) / 1000);
    attributes.push(`Max-Age=${Math.max(0, seconds)}`);
  }
  reply.header('set-cookie', attributes.join('; '));
  reply.header('cache-control', 'no-store');
  return { csrfToken };
}

/** Expires the session cookie in the browser (the token itself is revoked by the caller). */
export function clearUiSession(reply: FastifyReply): void {
  reply.header('set-cookie', `${sessionCookieName}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`);
}

/** All `__Host-drover_session` values in the request's Cookie header(s). */
export function sessionCookiesOf(headers: IncomingHttpHeaders): string[] {
  // Node joins repeated Cookie headers with "; ", so one string holds them all.
  const raw: string = headers.cookie ?? '';
  const values: string[] = [];
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq >= 0 && part.slice(0, eq).trim() === sessionCookieName) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

/** The one CSRF subprotocol offered; none, or two (ambiguous), count as none. */
function csrfFromProtocols(header: string | undefined): string | undefined {
  const offered = (header ?? '').split(',').map((p) => p.trim()).filter((p) => p.startsWith(csrfProtocolPrefix));
  return offered.length === 1 ? offered[0]?.slice(csrfProtocolPrefix.length) : undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

/** Refuses a request a page on another origin started (login CSRF on POST /v1/session). */
export function assertSameOrigin(headers: IncomingHttpHeaders, sessions: UiSessions | undefined): void {
  const origin = single(headers.origin);
  if (headers.origin !== undefined && (origin === undefined || origin !== sessions?.publicOrigin)) {
    const wanted = sessions?.publicOrigin ?? 'the server\'s --public-url';
    throw new DroverError('DRV_ERR_FORBIDDEN', `Origin mismatch: this page is ${origin === undefined ? 'on several origins' : origin.slice(0, 200)}, but the server accepts its session cookie only from ${wanted} (its --public-url). Open ${wanted} instead, or restart the server with --public-url set to the address you use`);
  }
  const fetchSite = single(headers['sec-fetch-site']);
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    throw new DroverError('DRV_ERR_FORBIDDEN', 'the session cookie is accepted only from this server\'s own pages (cross-site request)');
  }
}

export interface CredentialOptions {
  /**
   * Proxy WebSocket upgrades: the browser always sends Origin there, so it is required;
   * the CSRF token may come as a `csrf.drover.io.<token>` subprotocol instead of the header.
   */
  upgrade?: boolean;
  /**
   * Only GET /v1/session, which hands a reloaded page its CSRF token: no side
   * effects, and the answer is readable only by a same-origin page (no CORS).
   */
  csrfExempt?: boolean;
}

/**
 * What to hand the token authenticator: the Authorization header as sent, or
 * the cookie's token once the CSRF rules hold. Throws when they do not.
 */
export function credentialFrom(headers: IncomingHttpHeaders, sessions: UiSessions | undefined, options: CredentialOptions = {}): string | undefined {
  const authorization = headers.authorization;
  // The proxy's hot path: kubectl sends no cookie.
  if (headers.cookie === undefined) return authorization;
  const cookies = sessionCookiesOf(headers);
  if (cookies.length === 0) return authorization;
  if (authorization !== undefined) {
    throw new DroverError('DRV_ERR_BAD_REQUEST', 'send either an Authorization header or the UI session cookie, not both');
  }
  if (cookies.length > 1) {
    throw new DroverError('DRV_ERR_BAD_REQUEST', `the request carries ${cookies.length} ${sessionCookieName} cookies: clear this site's cookies in the browser and log in again`);
  }
  if (!sessions) throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'session cookies are not accepted here; send "Authorization: Bearer <token>"');
  const token = cookies[0] ?? '';
  assertSameOrigin(headers, sessions);
  if (options.upgrade && single(headers.origin) === undefined) {
    throw new DroverError('DRV_ERR_FORBIDDEN', 'a WebSocket authenticated by the session cookie must carry this server\'s Origin');
  }
  if (options.csrfExempt) {
    // Hands out the CSRF token: a browser must say our own page asked (a fetch), not a navigation or another site.
    const fetchSite = single(headers['sec-fetch-site']);
    if (fetchSite !== undefined && fetchSite !== 'same-origin') {
      throw new DroverError('DRV_ERR_FORBIDDEN', 'GET /v1/session answers only this server\'s own pages (Sec-Fetch-Site must be same-origin)');
    }
    return `Bearer ${token}`;
  }
  const presented = single(headers[csrfHeaderName]) ?? (options.upgrade ? csrfFromProtocols(headers['sec-websocket-protocol']) : undefined);
  if (!sessions.csrfMatches(token, presented)) {
    // 401, not 403: without its CSRF token the cookie authenticates nobody.
    throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'the session cookie needs a matching X-Drover-CSRF header: reload the page and log in again');
  }
  return `Bearer ${token}`;
}
