/** /v1/tokens: list and revoke your own tokens (admins: anyone's), and create API tokens. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authErrors, authenticateWith, caller } from '../http/index.ts';
import { Type } from 'typebox';
import { DroverError } from '../errors/index.ts';
import type { AuthenticatedUser } from '../identity/index.ts';
import type { ApiContext } from './context.ts';
import { CreateTokenRequest, IdParams, TokenListQuery } from './schemas.ts';
import { IssuedToken, Token } from '../api-types/index.ts';

export function tokenRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const { tokens, users } = ctx.identity;
  /**
   * A token scoped to a cluster that does not exist, or that the caller may not use, would
   * be a credential with a promise nobody checked (ACE mirrors cluster-scoped tokens into
   * their cluster). Both get the same answer, so cluster ids cannot be probed.
   */
  const usableCluster = async (me: AuthenticatedUser, idOrName: string): Promise<string> => {
    const id = ctx.usableCluster ? await ctx.usableCluster(me, idOrName) : undefined;
    if (id === undefined) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `clusterId: no cluster "${idOrName.slice(0, 64)}" that you can use; see "drover clusters list"`);
    }
    return id;
  };
  return (app) => {
    app.addHook('preHandler', authenticateWith(ctx.identity.authenticator));
    const common = { tags: ['tokens'], security: [{ bearer: [] }] };

    app.get('/v1/tokens', {
      schema: { ...common, summary: 'List your tokens (admins: ?all=true or ?userId=)', querystring: TokenListQuery, response: { 200: Type.Array(Token), ...authErrors } },
    }, async (request) => {
      const me = caller(request);
      const all = request.query.all === 'true';
      const userId = request.query.userId;
      if ((all || userId !== undefined) && me.globalRole !== 'admin') throw new DroverError('DRV_ERR_FORBIDDEN', 'only admins may list other users\' tokens');
      const list = await tokens.list(all ? {} : { userId: userId === undefined ? me.id : (await users.get(userId)).id });
      return list.map((t) => ({ ...t, current: t.id === me.token.id }));
    });

    app.post('/v1/tokens', {
      schema: { ...common, summary: 'Create an API or kubeconfig token for yourself (shown once); clusterId (id or name) must be a cluster you can use', body: CreateTokenRequest, response: { 201: IssuedToken, ...authErrors, 422: authErrors[400] } },
    }, async (request, reply) => {
      const me = caller(request);
      const b = request.body;
      const clusterId = b.clusterId === undefined ? undefined : await usableCluster(me, b.clusterId);
      // A kubeconfig token lives under the kubeconfig settings however it is asked for.
      const ttlSeconds = b.kind === 'kubeconfig' && ctx.kubeconfigTokenTtl ? await ctx.kubeconfigTokenTtl(b.ttlSeconds) : b.ttlSeconds;
      const issued = await tokens.issue({
        userId: me.id, kind: b.kind ?? 'api', authProvider: me.provider, description: b.description ?? '',
        ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
        ...(clusterId === undefined ? {} : { clusterId }),
      });
      const user = await users.get(me.id);
      return reply.status(201).send({ token: issued.value, tokenId: issued.token.id, ...(issued.token.expiresAt ? { expiresAt: issued.token.expiresAt } : {}), user });
    });

    app.delete('/v1/tokens/:id', {
      schema: { ...common, summary: 'Revoke a token (yours; admins: anyone\'s)', params: IdParams, response: { 204: Type.Null(), ...authErrors } },
    }, async (request, reply) => {
      const me = caller(request);
      const token = await tokens.get(request.params.id).catch(() => undefined);
      // Someone else's token is "not found" to a non-admin, so token ids cannot be probed.
      if (!token || (token.userId !== me.id && me.globalRole !== 'admin')) throw new DroverError('DRV_ERR_NOT_FOUND', `no token "${request.params.id}"`);
      await tokens.revoke(token.id);
      return reply.status(204).send(null);
    });
    return Promise.resolve();
  };
}
