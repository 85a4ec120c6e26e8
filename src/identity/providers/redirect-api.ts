/**
 * Browser login routes for the redirect providers (GitHub, OIDC):
 *   GET  /v1/auth/:provider/login?purpose=ui|cli|test[&request=<id>]  302 to the provider; purpose=cli: the code page
 *   POST /v1/auth/:provider/login (form: request, confirm, code)      the code page's answer: 303 to the provider
 *   GET  /v1/auth/:provider/callback                                  the provider sends the browser back here
 *   POST /v1/auth/:provider/cli-login { challenge }                   a terminal login: { requestId, loginUrl, userCode }
 *   POST /v1/auth/cli-token { requestId, verifier }                   202 pending, 200 the token once, 410 after
 *   POST /v1/auth/:provider/test-login (admin)                        { requestId, loginUrl } for a test login
 * The callback picks the user only from the provider's verified answer (through
 * completeExternalLogin); the state must be one this server issued, unused, under
 * 10 minutes old. A UI login is also bound to the browser that started it (a
 * cookie), so nobody can push their own login into someone else's browser. A
 * terminal login's link asks for the code the terminal printed before it goes to
 * the provider (`userCodeFor`), so nobody can send someone a link that silently
 * logs the terminal that started it in as them. The
 * only redirect after login is a same-origin path; a UI login the provider or
 * Drover refused (after the state and the browser binding checked out) goes back
 * to the login page as `/?error=<code>`, not to a JSON error page. Only the error
 * code travels in the URL: the page maps it to fixed words, so nobody can craft a
 * link that makes Drover's login page show a message of their choosing.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authenticateWith, ErrorBody, requireAdmin, setUiSession } from '../../http/index.ts';
import { DroverError } from '../../errors/index.ts';
import type { Logger } from '../../logging/index.ts';
import type { TokenAuthenticator } from '../types.ts';
import type { CompleteExternalLogin } from './external-login.ts';
import { sameUserCode, sha256url, userCodeFor, type RedirectLogins, type IssuedLogin, type LoginPurpose, type PendingLogin } from './redirect-login.ts';
import type { AuthProvider, ProviderName, RedirectProvider } from './types.ts';
import { CollectedToken, LoginLink } from '../../api-types/index.ts';

/** What the routes need from the provider core (P's ProviderService satisfies it). */
export interface RedirectLoginBackend {
  get(name: string): Promise<AuthProvider>;
  getForTest(name: string): Promise<AuthProvider>;
  recordTestLogin(name: string): Promise<void>;
  completeLogin: CompleteExternalLogin;
}

export interface RedirectApiOptions {
  providers: RedirectLoginBackend;
  authenticator: TokenAuthenticator;
  /** The server's public URL: redirect URIs and login URLs are built from it, never from request headers. */
  publicUrl: string;
  logger: Logger;
  /** Logins in progress, kept in the database so any replica can finish them. */
  logins: RedirectLogins;
}

const RedirectProviderName = Type.Union([Type.Literal('github'), Type.Literal('oidc')]);
const ProviderParams = Type.Object({ provider: RedirectProviderName });

/**
 * The browser binding of a UI login. `__Host-`: a browser accepts it only from this host,
 * for Path=/ and without Domain, so a page on a sibling host (`evil.example.com` beside
 * `drover.example.com`) can neither plant its own login's binding here (login CSRF: the
 * victim's browser would finish the attacker's login) nor jam logins with a second cookie.
 */
const bindingCookie = (provider: ProviderName): string => `__Host-drover_login_${provider}`;

/** A path on this server: starts with one "/", no scheme, no host, no backslash tricks. */
export function safeReturnPath(value: string | undefined): string {
  if (value === undefined || !/^\/(?![/\\])[^\s\\]*$/.test(value) || value.length > 512) return '/';
  return value;
}

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  const values = header.split(';').map((p) => p.trim()).filter((p) => p.startsWith(`${name}=`)).map((p) => p.slice(name.length + 1));
  return values.length === 1 ? values[0] : undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(reply: FastifyReply, title: string, text: string): FastifyReply {
  return reply.status(200)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(`<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body style="font-family:sans-serif;margin:3em"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`);
}

/** Binds a terminal login's code page to the browser that showed it: another site cannot submit the form (SameSite=Strict). */
const confirmCookie = '__Host-drover_confirm';

/** The page a terminal login's link opens: the code the terminal shows, typed, before the provider is asked. */
function codePage(reply: FastifyReply, provider: ProviderName, requestId: string, wrongCode: boolean): FastifyReply {
  const confirm = randomBytes(32).toString('base64url');
  const warning = 'If you did not just run "drover login" yourself, close this page: someone may be trying to get a Drover login in your name.';
  const field = (name: string, value: string): string => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return reply.status(200)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('set-cookie', `${confirmCookie}=${confirm}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=600`)
    .send('<!doctype html><html><head><meta charset="utf-8"><title>Log in to Drover from a terminal</title></head><body style="font-family:sans-serif;margin:3em">'
      + '<h1>Log in to Drover from a terminal</h1>'
      + `<p>Type the code your terminal shows, then continue to ${escapeHtml(provider === 'github' ? 'GitHub' : 'your identity provider')}.</p>`
      + (wrongCode ? '<p role="alert"><strong>That is not the code of this login. Check your terminal and type it again.</strong></p>' : '')
      + `<p><strong>${escapeHtml(warning)}</strong></p>`
      + `<form action="/v1/auth/${provider}/login" method="post">${field('request', requestId)}${field('confirm', confirm)}`
      + '<label>Code <input name="code" autocomplete="off" autofocus required maxlength="16"></label> <button>Continue</button></form></body></html>');
}

function asRedirect(provider: AuthProvider, name: string): RedirectProvider {
  if (provider.style !== 'redirect') throw new DroverError('DRV_ERR_BAD_REQUEST', `${name} logs in with a password, not through the browser; use POST /v1/login`);
  return provider;
}

/** Finishes a login whose state checked out: the provider verifies the callback, then the purpose decides what the browser gets. */
function loginFinisher(options: RedirectApiOptions, logins: RedirectLogins, instance: (name: ProviderName, purpose: LoginPurpose) => Promise<RedirectProvider>) {
  return async (request: FastifyRequest, reply: FastifyReply, name: ProviderName, login: PendingLogin): Promise<FastifyReply> => {
    const provider = await instance(name, login.purpose);
    // Only the query string comes from the browser; the URL it is checked against is ours.
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const identity = await provider.completeLogin(new URL(`${login.pending.redirectUri}${query}`), login.pending);
    switch (login.purpose) {
      case 'test': {
        await options.providers.recordTestLogin(name);
        if (login.requestId !== undefined) await logins.close(login.requestId);
        options.logger.info({ provider: name, groups: identity.groups.length }, 'redirect provider test login succeeded');
        return page(reply, 'Test login succeeded', `${name} answered for ${identity.user.displayName} (${identity.user.id}) with ${identity.groups.length} group(s). You can enable the provider now.`);
      }
      case 'cli': {
        const result = await options.providers.completeLogin(name, identity, { address: request.ip, description: `drover CLI login (${name})` });
        const issued: IssuedLogin = {
          token: result.value, tokenId: result.token.id, user: result.user,
          ...(result.token.expiresAt ? { expiresAt: result.token.expiresAt } : {}),
        };
        await logins.complete(login.requestId ?? '', issued);
        return page(reply, 'Logged in', `You are logged in to Drover as ${result.user.username}. Return to your terminal; you can close this window.`);
      }
      case 'ui': {
        const result = await options.providers.completeLogin(name, identity, { address: request.ip, description: `web UI (${name})` });
        setUiSession(reply, { value: result.value, ...(result.token.expiresAt ? { expiresAt: result.token.expiresAt } : {}) });
        return reply.redirect(safeReturnPath(login.returnTo), 302);
      }
      default: {
        const never: never = login.purpose;
        throw new DroverError('DRV_ERR_INTERNAL', `unknown login purpose ${String(never)}`);
      }
    }
  };
}

/** Starts the provider's side of a login and sends the browser there (a UI login gets its browser binding). */
function loginStarter(logins: RedirectLogins, instance: (name: ProviderName, purpose: LoginPurpose) => Promise<RedirectProvider>, callbackUri: (provider: ProviderName) => string) {
  return async (request: FastifyRequest, reply: FastifyReply, name: ProviderName, purpose: LoginPurpose,
    requestId: string | undefined, returnTo: string | undefined, status: 302 | 303 = 302): Promise<FastifyReply> => {
    const provider = await instance(name, purpose);
    const start = await provider.startLogin(callbackUri(name));
    const login: PendingLogin = { provider: name, purpose, pending: start.pending, ...(requestId && purpose !== 'ui' ? { requestId } : {}) };
    if (purpose === 'ui') {
      const binding = randomBytes(32).toString('base64url');
      login.browserBinding = sha256url(binding);
      login.returnTo = safeReturnPath(returnTo);
      // Lax, not Strict: the provider's redirect back is a cross-site top-level navigation.
      reply.header('set-cookie', `${bindingCookie(name)}=${binding}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=600`);
    }
    await logins.begin(login, request.ip);
    return reply.header('cache-control', 'no-store').redirect(start.authorizeUrl, status);
  };
}

/** The code page's form posts the browser's way: parsed for this plugin's routes only. */
function acceptFormPosts(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
}

export function redirectLoginApi(options: RedirectApiOptions): FastifyPluginAsyncTypebox {
  const logins = options.logins;
  const base = options.publicUrl.replace(/\/$/, '');
  const callbackUri = (provider: ProviderName): string => `${base}/v1/auth/${provider}/callback`;
  const loginUrl = (provider: ProviderName, purpose: LoginPurpose, requestId: string): string =>
    `${base}/v1/auth/${provider}/login?${new URLSearchParams({ purpose, request: requestId }).toString()}`;
  const instance = async (name: ProviderName, purpose: LoginPurpose): Promise<RedirectProvider> =>
    asRedirect(purpose === 'test' ? await options.providers.getForTest(name) : await options.providers.get(name), name);

  const finishLogin = loginFinisher(options, logins, instance);
  const toProvider = loginStarter(logins, instance, callbackUri);

  return (app) => {
    acceptFormPosts(app);
    app.get('/v1/auth/:provider/login', {
      schema: {
        summary: 'Start a browser login through GitHub or OIDC (302 to the provider)', tags: ['auth'], params: ProviderParams,
        querystring: Type.Object({
          purpose: Type.Optional(Type.Union([Type.Literal('ui'), Type.Literal('cli'), Type.Literal('test')])),
          request: Type.Optional(Type.String({ maxLength: 128 })),
          returnTo: Type.Optional(Type.String({ maxLength: 512 })),
        }, { additionalProperties: false }),
        response: { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 502: ErrorBody },
      },
    }, async (request, reply) => {
      const name = request.params.provider;
      const purpose = request.query.purpose ?? 'ui';
      // A terminal's link first asks for the terminal's code (codePage); the form below goes on.
      if (purpose === 'cli') {
        await logins.unstartedChallenge(request.query.request, name);
        return codePage(reply, name, request.query.request ?? '', false);
      }
      if (purpose === 'test') await logins.startRequest(request.query.request, name, purpose);
      return toProvider(request, reply, name, purpose, request.query.request, request.query.returnTo);
    });

    app.post('/v1/auth/:provider/login', {
      schema: {
        summary: 'The code page\'s form: with the terminal\'s code, go on to the provider (303)', tags: ['auth'], params: ProviderParams,
        body: Type.Object({ request: Type.String({ maxLength: 128 }), confirm: Type.String({ minLength: 43, maxLength: 64 }), code: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
        response: { 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 502: ErrorBody },
      },
    }, async (request, reply) => {
      const name = request.params.provider;
      const { request: requestId, confirm, code } = request.body;
      if (cookieValue(request, confirmCookie) !== confirm) throw new DroverError('DRV_ERR_FORBIDDEN', 'this form was not sent from the page this server showed in this browser; open the login link from your terminal again');
      const challenge = await logins.unstartedChallenge(requestId, name);
      if (!sameUserCode(code, userCodeFor(challenge))) return codePage(reply, name, requestId, true);
      await logins.startRequest(requestId, name, 'cli');
      reply.header('set-cookie', `${confirmCookie}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`);
      return toProvider(request, reply, name, 'cli', requestId, undefined, 303);
    });

    app.get('/v1/auth/:provider/callback', {
      schema: {
        summary: 'Where the provider sends the browser back; finishes the login', tags: ['auth'], params: ProviderParams,
        // Providers add their own parameters (iss, session_state, ...): this schema stays open.
        querystring: Type.Object({ state: Type.Optional(Type.String({ maxLength: 512 })) }),
        response: { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody },
      },
    }, async (request, reply) => {
      const name = request.params.provider;
      const login = await logins.finish(request.query.state ?? null, name);
      if (login.purpose === 'ui') {
        const binding = cookieValue(request, bindingCookie(name));
        if (binding === undefined || login.browserBinding !== sha256url(binding)) {
          throw new DroverError('DRV_ERR_BAD_REQUEST', 'this login was started in another browser (or its cookie was lost); start the login again here');
        }
        reply.header('set-cookie', `${bindingCookie(name)}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`);
      }
      try {
        return await finishLogin(request, reply, name, login);
      } catch (error) {
        if (login.purpose === 'cli' && login.requestId !== undefined && error instanceof DroverError) await logins.fail(login.requestId, error);
        // A browser is on this page, not a script: back to the login page, which shows the reason in words.
        if (login.purpose === 'ui' && error instanceof DroverError) {
          options.logger.info({ provider: name, code: error.code, reason: error.message }, 'ui login through a redirect provider refused');
          return reply.header('cache-control', 'no-store').redirect(`/?${new URLSearchParams({ error: error.code }).toString()}`, 302);
        }
        throw error;
      }
    });

    app.post('/v1/auth/:provider/cli-login', {
      schema: {
        summary: 'Start a terminal login: open loginUrl in a browser and type userCode there, then poll POST /v1/auth/cli-token', tags: ['auth'], params: ProviderParams,
        body: Type.Object({ challenge: Type.String({ minLength: 43, maxLength: 43, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false }),
        response: { 200: LoginLink, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody },
      },
    }, async (request) => {
      const name = request.params.provider;
      await instance(name, 'cli');
      const requestId = await logins.openRequest(request.ip, name, 'cli', request.body.challenge);
      return { requestId, loginUrl: loginUrl(name, 'cli', requestId), userCode: userCodeFor(request.body.challenge) };
    });

    app.post('/v1/auth/cli-token', {
      schema: {
        summary: 'Collect the token of a terminal login (202 while the browser login is pending)', tags: ['auth'],
        body: Type.Object({ requestId: Type.String({ maxLength: 128 }), verifier: Type.String({ minLength: 43, maxLength: 128 }) }, { additionalProperties: false }),
        response: {
          200: CollectedToken,
          202: Type.Object({ status: Type.Literal('pending') }), 400: ErrorBody, 410: ErrorBody,
        },
      },
    }, async (request, reply) => {
      const answer = await logins.poll(request.body.requestId, request.body.verifier);
      reply.header('cache-control', 'no-store');
      if (answer.state === 'pending') return reply.status(202).send({ status: 'pending' as const });
      return reply.status(200).send(answer.issued);
    });

    app.post('/v1/auth/:provider/test-login', {
      schema: {
        summary: 'Admin: a login link that tests the current (not yet enabled) configuration', tags: ['auth'], params: ProviderParams,
        security: [{ bearer: [] }], response: { 200: LoginLink, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 502: ErrorBody },
      },
      preHandler: authenticateWith(options.authenticator),
    }, async (request) => {
      requireAdmin(request);
      const name = request.params.provider;
      await instance(name, 'test');
      const requestId = await logins.openRequest(request.ip, name, 'test');
      return { requestId, loginUrl: loginUrl(name, 'test', requestId) };
    });
    return Promise.resolve();
  };
}
