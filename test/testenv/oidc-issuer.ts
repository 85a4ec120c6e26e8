/**
 * A real OpenID Provider for the OIDC tests: panva's certified `oidc-provider`
 * (v9) over HTTPS on loopback with a throwaway CA, one registered client for
 * Drover, a `groups` claim, and accounts the test changes at runtime. Its dev
 * login/consent pages are driven by `playBrowser` below, over plain HTTP(S)
 * requests: follow redirects, keep cookies, post the forms. No browser needed.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider, { type Configuration } from 'oidc-provider';
import { Agent, request } from 'undici';
import { loadOrCreateTls } from '../../src/server/tls.ts';

export interface OidcAccount { sub: string; preferredUsername: string; name?: string; email?: string; groups: string[] }

export interface OidcIssuer {
  issuer: string;
  caPem: string;
  clientId: string;
  clientSecret: string;
  /** Adds or replaces an account (by `sub`); takes effect at the next token or userinfo request. */
  setAccount(account: OidcAccount): void;
  removeAccount(sub: string): void;
  /** How many token-endpoint requests the issuer answered (code and refresh grants). */
  tokenRequests(): number;
  stop(): Promise<void>;
}

export interface OidcIssuerOptions {
  redirectUris: string[];
  accounts?: OidcAccount[];
  /** Put the groups (and profile) claims into the ID token (default true); false leaves them to userinfo only. */
  groupsInIdToken?: boolean;
  /** Serve the discovery document under this issuer name instead of the real URL (to test a foreign issuer). */
  issuerOverride?: string;
}

/** A throwaway CA and a serving certificate for 127.0.0.1. */
export async function throwawayTls(): Promise<{ certPem: string; keyPem: string; caPem: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-tls-'));
  try {
    const tls = await loadOrCreateTls({ dataDir: dir, publicHost: '127.0.0.1' });
    return { certPem: tls.certPem, keyPem: tls.keyPem, caPem: tls.caPem };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts an HTTPS server on a free loopback port; the handler is attached once the URL is known. */
export async function listenHttps(tls: { certPem: string; keyPem: string }): Promise<{ server: Server; url: string; handle: (h: (req: IncomingMessage, res: ServerResponse) => void) => void }> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => { res.statusCode = 503; res.end(); };
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `https://127.0.0.1:${port}`, handle: (h) => { handler = h; } };
}

export async function startOidcIssuer(options: OidcIssuerOptions): Promise<OidcIssuer> {
  const tls = await throwawayTls();
  const { server, url, handle } = await listenHttps(tls);
  const accounts = new Map<string, OidcAccount>((options.accounts ?? []).map((a) => [a.sub, a]));
  const clientId = 'drover';
  const clientSecret = randomBytes(24).toString('base64url');
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  let tokenRequests = 0;
  const configuration: Configuration = {
    clients: [{
      client_id: clientId, client_secret: clientSecret, redirect_uris: options.redirectUris,
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    }],
    jwks: { keys: [{ ...signingKey, kid: 'test-rs256', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
    conformIdTokenClaims: options.groupsInIdToken === false,
    features: { devInteractions: { enabled: true }, userinfo: { enabled: true } },
    findAccount: (_ctx, sub) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub, preferred_username: account.preferredUsername, ...(account.name ? { name: account.name } : {}),
          ...(account.email ? { email: account.email } : {}), groups: [...account.groups],
        }),
      };
    },
    // Refresh grants fail (invalid_grant) for an account that was removed.
    ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 3600, Session: 3600, Interaction: 600, Grant: 3600 },
  };
  const provider = new Provider(options.issuerOverride ?? url, configuration);
  provider.on('grant.success', () => { tokenRequests += 1; });
  const callback = provider.callback();
  handle((req, res) => { void callback(req, res); });
  return {
    issuer: url, caPem: tls.caPem, clientId, clientSecret,
    setAccount: (account) => { accounts.set(account.sub, account); },
    removeAccount: (sub) => { accounts.delete(sub); },
    tokenRequests: () => tokenRequests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface BrowserStep { url: string; status: number; text: string; headers: Record<string, string | string[] | undefined> }

/**
 * Plays a browser through a login: follows redirects (keeping cookies per host),
 * and on an HTML page with a form posts it with `fields(formAction, page)` (the
 * hidden inputs are included). Stops at a page without a form, or after 20 steps.
 * Returns every step, the last one being where the browser ended up.
 */
export async function playBrowser(startUrl: string, options: {
  cas: string[];
  fields?: (action: string, page: string) => Record<string, string> | undefined;
  /** Stop before following a redirect to a URL this returns true for (to capture a callback URL). */
  stopAt?: (url: string) => boolean;
  cookies?: Map<string, Map<string, string>>;
  /** Where a request for a URL really goes (e.g. one replica behind the load balancer's address); cookies stay with the URL's host. */
  route?: (url: URL) => URL;
  /** A terminal login's one-time code, typed on Drover's code page (the form posting to /v1/auth/<provider>/login). */
  userCode?: string;
}): Promise<BrowserStep[]> {
  const agent = new Agent({ connect: { ca: options.cas } });
  const jar = options.cookies ?? new Map<string, Map<string, string>>();
  const steps: BrowserStep[] = [];
  try {
    let next: { url: string; method: 'GET' | 'POST'; body?: string } | undefined = { url: startUrl, method: 'GET' };
    while (next && steps.length < 20) {
      const target: URL = new URL(next.url);
      if (options.stopAt?.(next.url)) { steps.push({ url: next.url, status: 0, text: '', headers: {} }); break; }
      const cookies = jar.get(target.host) ?? new Map<string, string>();
      const res: Awaited<ReturnType<typeof request>> = await request(options.route?.(target) ?? target, {
        method: next.method, dispatcher: agent,
        headers: {
          ...(cookies.size > 0 ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
          ...(next.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        ...(next.body === undefined ? {} : { body: next.body }),
      });
      const text: string = await res.body.text();
      const setCookie = res.headers['set-cookie'];
      for (const line of setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]) {
        const [pair] = line.split(';');
        const eq = pair?.indexOf('=') ?? -1;
        if (pair && eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
      jar.set(target.host, cookies);
      steps.push({ url: next.url, status: res.statusCode, text, headers: res.headers });
      const location: unknown = res.headers.location;
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
        next = { url: new URL(location, target).href, method: 'GET' };
        continue;
      }
      const form = /<form[^>]*action="([^"]+)"[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i.exec(text);
      if (!form?.[1] || res.statusCode !== 200) break;
      const action = new URL(form[1].replace(/&amp;/g, '&'), target).href;
      const hidden: Record<string, string> = {};
      for (const input of (form[2] ?? '').matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) if (input[1]) hidden[input[1]] = input[2] ?? '';
      const codePage = /\/v1\/auth\/[a-z]+\/login$/.test(new URL(action).pathname);
      const extra: Record<string, string> | undefined = codePage ? (options.userCode === undefined ? undefined : { code: options.userCode }) : options.fields?.(action, text);
      if (extra === undefined) break;
      next = { url: action, method: 'POST', body: new URLSearchParams({ ...hidden, ...extra }).toString() };
    }
    return steps;
  } finally {
    await agent.close();
  }
}

/** `playBrowser` for the issuer's dev pages: signs in as `sub` and consents. */
export function signInAs(sub: string): (action: string) => Record<string, string> {
  return (action): Record<string, string> => (action.includes('/interaction/') ? { login: sub, password: 'any' } : {});
}
