/**
 * /v1/session: the web UI's login. POST checks a password like /v1/login but
 * answers with the HttpOnly session cookie and a CSRF token instead of the
 * token itself; GET tells a reloaded page who it is and its CSRF token; DELETE
 * revokes the session's token and clears the cookie.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody, assertSameOrigin, authErrors, authenticateWith, caller, clearUiSession, credentialFrom, sessionCookiesOf, setUiSession, uiSessionsOf } from '../http/index.ts';
import { Type } from 'typebox';
import { DroverError } from '../errors/index.ts';
import type { ApiContext } from './context.ts';
import { LoginRequest } from './schemas.ts';
import { Session } from '../api-types/index.ts';

export function sessionRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const authenticator = ctx.identity.authenticator;
  return (app) => {
    const common = { tags: ['session'] };

    app.post('/v1/session', {
      schema: {
        ...common, summary: 'Log in for the web UI: sets the __Host-drover_session cookie and returns the CSRF token',
        body: LoginRequest, response: { 200: Session, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 413: ErrorBody, 422: ErrorBody, 429: ErrorBody, 502: ErrorBody },
      },
    }, async (request, reply) => {
      // Login CSRF: another site must not log the browser into an account of its choosing.
      assertSameOrigin(request.headers, uiSessionsOf(request.server));
      const b = request.body;
      const input = {
        username: b.username, password: b.password, address: request.ip, description: b.description ?? 'web UI session',
        ...(b.ttlSeconds === undefined ? {} : { ttlSeconds: b.ttlSeconds }),
      };
      const provider = b.provider ?? 'local';
      let result;
      if (provider === 'local') result = await ctx.identity.login.login(input);
      else if (ctx.passwordLogin) result = await ctx.passwordLogin(provider, input);
      else throw new DroverError('DRV_ERR_UNPROCESSABLE', `auth provider "${provider}" is not configured on this server; use "local"`);
      const { csrfToken } = setUiSession(reply, { value: result.value, ...(result.token.expiresAt ? { expiresAt: result.token.expiresAt } : {}) });
      return { csrfToken, user: result.user, ...(result.token.expiresAt ? { expiresAt: result.token.expiresAt } : {}) };
    });

    app.get('/v1/session', {
      schema: { ...common, summary: 'The UI session: who is logged in, and the CSRF token (cookie only)', response: { 200: Session, ...authErrors } },
    }, async (request, reply) => {
      const sessions = uiSessionsOf(request.server);
      const token = sessionCookiesOf(request.headers)[0];
      if (!sessions || token === undefined || request.headers.authorization !== undefined) {
        throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'no UI session: log in');
      }
      const me = await authenticator.authenticate(credentialFrom(request.headers, sessions, { csrfExempt: true }));
      reply.header('cache-control', 'no-store');
      const user = await ctx.identity.users.get(me.id);
      return {
        csrfToken: sessions.csrfFor(token), user,
        ...(me.token.expiresAt ? { expiresAt: me.token.expiresAt } : {}),
      };
    });

    app.delete('/v1/session', {
      schema: { ...common, summary: 'Log out of the web UI: revokes the session token and clears the cookie', response: { 204: Type.Null(), ...authErrors } },
      preHandler: authenticateWith(authenticator),
    }, async (request, reply) => {
      await ctx.identity.tokens.revoke(caller(request).token.id);
      clearUiSession(reply);
      return reply.status(204).send(null);
    });
    return Promise.resolve();
  };
}
