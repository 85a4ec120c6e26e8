/**
 * /v1/clusters/:id/ace: admins set a cluster's authorized-endpoint setting; anyone
 * who may access the cluster reads it with the kubeconfig contexts it yields.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authenticateWith, caller, requireAdmin, authErrors, ErrorBody } from '../http/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';
import { DroverError } from '../errors/index.ts';
import type { AceSettings } from './ace-settings.ts';
import type { ClusterAccessCheck } from './sync.ts';
import { AceSetting, AceView } from '../api-types/index.ts';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export function aceApi(options: { settings: AceSettings; authenticator: TokenAuthenticator; access: ClusterAccessCheck }): FastifyPluginAsyncTypebox {
  const { settings } = options;
  return (authed) => {
    authed.addHook('preHandler', authenticateWith(options.authenticator));
    const common = { tags: ['clusters'], security: [{ bearer: [] }] };
    authed.patch('/v1/clusters/:id/ace', {
      schema: { ...common, summary: 'Set the authorized cluster endpoint (admins): off, an FQDN with its CA, or per-node contexts', params: Params, body: AceSetting,
        response: { 200: AceSetting, ...authErrors, 404: ErrorBody } },
    }, async (request) => {
      requireAdmin(request);
      return settings.set(request.params.id, request.body);
    });
    authed.get('/v1/clusters/:id/ace', {
      schema: { ...common, summary: 'The authorized cluster endpoint setting and the kubeconfig contexts it yields', params: Params,
        response: { 200: AceView, ...authErrors, 404: ErrorBody } },
    }, async (request) => {
      const me = caller(request);
      const notFound = new DroverError('DRV_ERR_NOT_FOUND', `no cluster "${request.params.id.slice(0, 64)}"`);
      const { id } = await settings.cluster(request.params.id).catch(() => { throw notFound; });
      // Same answer as an unknown cluster for one the caller cannot reach.
      if (!(await options.access.canAccessCluster(me, id))) throw notFound;
      return { setting: await settings.get(id), contexts: await settings.contexts(id) };
    });
    return Promise.resolve();
  };
}
