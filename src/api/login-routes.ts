/** POST /v1/login (password → session token) and POST /v1/logout (revokes the caller's token). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody, authErrors, authenticateWith, caller } from '../http/index.ts';
import { Type } from 'typebox';
import { DroverError } from '../errors/index.ts';
import type { ApiContext } from './context.ts';
import { LoginRequest } from './schemas.ts';
import { IssuedToken } from '../api-types/index.ts';

export function loginRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post('/v1/login', {
      schema: {
        summary: 'Log in with a username and password; returns a session token (shown once)',
        tags: ['auth'],
        body: LoginRequest,
        response: { 200: IssuedToken, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 413: ErrorBody, 422: ErrorBody, 429: ErrorBody, 502: ErrorBody },
      },
    }, async (request) => {
      const body = request.body;
      const input = {
        username: body.username, password: body.password, address: request.ip,
        ...(body.description === undefined ? {} : { description: body.description }),
        ...(body.ttlSeconds === undefined ? {} : { ttlSeconds: body.ttlSeconds }),
      };
      const provider = body.provider ?? 'local';
      if (provider !== 'local' && !ctx.passwordLogin) {
        throw new DroverError('DRV_ERR_UNPROCESSABLE', `auth provider "${provider}" is not configured on this server; use "local"`);
      }
      const result = provider === 'local' || !ctx.passwordLogin ? await ctx.identity.login.login(input) : await ctx.passwordLogin(provider, input);
      return { token: result.value, tokenId: result.token.id, ...(result.token.expiresAt ? { expiresAt: result.token.expiresAt } : {}), user: result.user };
    });

    app.post('/v1/logout', {
      schema: { summary: 'Revoke the token this request carries', tags: ['auth'], security: [{ bearer: [] }], response: { 204: Type.Null(), ...authErrors } },
      preHandler: authenticateWith(ctx.identity.authenticator),
    }, async (request, reply) => {
      await ctx.identity.tokens.revoke(caller(request).token.id);
      return reply.status(204).send(null);
    });
    return Promise.resolve();
  };
}
