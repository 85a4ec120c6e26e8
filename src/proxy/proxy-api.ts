/**
 * The proxy's REST side: kubeconfigs (`GET /v1/clusters/:id/kubeconfig`), tokens
 * for the `drover token` exec plugin (`POST /v1/clusters/:id/token`), and the
 * impersonation doctor for admins (`GET /v1/clusters/:id/doctor?user=NAME`).
 * Kubeconfig and plugin tokens are new cluster-scoped `kubeconfig` tokens of the
 * caller, who must be an admin or a member of the cluster; a cluster-scoped token
 * cannot mint more tokens.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authenticateWith, caller, requireAdmin, authErrors } from '../http/index.ts';
import type { AuthenticatedUser, TokenAuthenticator, TokenService, UserService } from '../identity/index.ts';
import { groupPrincipalIds } from '../principals/index.ts';
import { DroverError } from '../errors/index.ts';
import type { ClusterMembership } from './chain.ts';
import type { AdminClientSource } from '../impersonation/index.ts';
import { kubeconfigTokenTtl, type KubeconfigSettingsSource } from './kubeconfig-settings.ts';
import { renderKubeconfig, renderMergedKubeconfig, type KubeconfigInput } from './kubeconfig.ts';
import { runDoctor } from '../impersonation/index.ts';
import { DoctorReport, Kubeconfig, MergedKubeconfig, PluginToken } from '../api-types/index.ts';

export interface ProxyApiOptions {
  authenticator: TokenAuthenticator;
  clusters: { get(idOrName: string): Promise<{ id: string; name: string }>; list(): Promise<Array<{ id: string; name: string; state: string }>> };
  tokens: Pick<TokenService, 'issue'>;
  users: Pick<UserService, 'get'>;
  membership: ClusterMembership;
  adminClient: AdminClientSource;
  /** Read on every request: an admin's change applies to the next kubeconfig or plugin token. */
  settings: KubeconfigSettingsSource;
  publicUrl: string;
  caPem: string;
  /** The cluster's authorized cluster endpoint contexts, when ACE is enabled for it. */
  aceContexts?: (clusterId: string) => Promise<Array<{ name: string; server: string; caPem?: string }>>;
}

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
// Query strings are text (the API does not coerce types): whole seconds, checked against the settings' bounds in issue().
const TtlQuery = Type.Object({ ttlSeconds: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$' })) }, { additionalProperties: false });

/** The `drover token` exec stanza, naming the login it is for, so the plugin refuses any other. */
function execCredential(publicUrl: string, username: string, clusterId: string): KubeconfigInput['credential'] {
  return { type: 'exec', command: 'drover', clusterId, server: publicUrl, username };
}

export function proxyApi(options: ProxyApiOptions): FastifyPluginAsyncTypebox {
  const memberCluster = async (request: FastifyRequest, idOrName: string): Promise<{ me: AuthenticatedUser; cluster: { id: string; name: string } }> => {
    const me = caller(request);
    const cluster = await options.clusters.get(idOrName).catch(() => undefined);
    // Same answer for "no such cluster" and "not yours", so ids cannot be probed.
    if (!cluster || !(await options.membership.canAccessCluster(me, cluster.id))) {
      throw new DroverError('DRV_ERR_NOT_FOUND', `no cluster "${idOrName.slice(0, 64)}" that you can use`);
    }
    return { me, cluster };
  };
  const issue = async (me: AuthenticatedUser, clusterId: string, ttlSeconds: string | undefined, description: string) => {
    if (me.token.clusterId !== undefined) {
      throw new DroverError('DRV_ERR_FORBIDDEN', 'a cluster-scoped token cannot create tokens; log in with "drover login"');
    }
    const ttl = kubeconfigTokenTtl(await options.settings.current(), ttlSeconds === undefined ? undefined : Number(ttlSeconds));
    return options.tokens.issue({ userId: me.id, kind: 'kubeconfig', authProvider: me.provider, clusterId, ttlSeconds: ttl, description });
  };

  return (authed) => {
    authed.addHook('preHandler', authenticateWith(options.authenticator));
    const common = { tags: ['clusters'], security: [{ bearer: [] }] };

    authed.get('/v1/clusters/:id/kubeconfig', {
      schema: { ...common, summary: 'A kubeconfig for this cluster through the Drover proxy', params: Params, querystring: TtlQuery, response: { 200: Kubeconfig, ...authErrors } },
    }, async (request) => {
      const { me, cluster } = await memberCluster(request, request.params.id);
      const aceContexts = options.aceContexts ? await options.aceContexts(cluster.id) : [];
      const base = { publicUrl: options.publicUrl, caPem: options.caPem, clusterId: cluster.id, clusterName: cluster.name, aceContexts };
      const names = aceContexts.map((c) => c.name);
      if (!(await options.settings.current()).generateToken) {
        return { kubeconfig: renderKubeconfig({ ...base, credential: execCredential(options.publicUrl, me.username, cluster.id) }), aceContexts: names };
      }
      const issued = await issue(me, cluster.id, request.query.ttlSeconds, `kubeconfig for ${cluster.name}`);
      return {
        aceContexts: names,
        kubeconfig: renderKubeconfig({ ...base, credential: { type: 'token', token: issued.value } }),
        token: { id: issued.token.id, ...(issued.token.expiresAt ? { expiresAt: issued.token.expiresAt } : {}) },
      };
    });

    authed.get('/v1/kubeconfig', {
      schema: {
        ...common, summary: 'One kubeconfig with a context for every cluster you can use (plus their ACE contexts)', querystring: TtlQuery,
        response: { 200: MergedKubeconfig, ...authErrors },
      },
    }, async (request) => {
      const me = caller(request);
      const usable: Array<{ id: string; name: string; state: string }> = [];
      for (const cluster of await options.clusters.list()) if (await options.membership.canAccessCluster(me, cluster.id)) usable.push(cluster);
      if (usable.length === 0) throw new DroverError('DRV_ERR_NOT_FOUND', 'you cannot use any cluster yet; ask an admin or a cluster owner to add you as a member');
      const generate = (await options.settings.current()).generateToken;
      const inputs: KubeconfigInput[] = [];
      const tokens: Array<{ cluster: string; id: string; expiresAt?: string }> = [];
      for (const cluster of usable) {
        const aceContexts = options.aceContexts ? await options.aceContexts(cluster.id) : [];
        const base = { publicUrl: options.publicUrl, caPem: options.caPem, clusterId: cluster.id, clusterName: cluster.name, aceContexts };
        if (!generate) {
          inputs.push({ ...base, credential: execCredential(options.publicUrl, me.username, cluster.id) });
          continue;
        }
        const issued = await issue(me, cluster.id, request.query.ttlSeconds, `kubeconfig for ${cluster.name} (all clusters)`);
        inputs.push({ ...base, credential: { type: 'token', token: issued.value } });
        tokens.push({ cluster: cluster.id, id: issued.token.id, ...(issued.token.expiresAt ? { expiresAt: issued.token.expiresAt } : {}) });
      }
      // Current: the first Active cluster by name (a context that answers), else the first.
      const current = (usable.find((c) => c.state.toLowerCase() === 'active') ?? usable[0] ?? { name: '' }).name;
      const merged = renderMergedKubeconfig(inputs, current);
      return { kubeconfig: merged.yaml, currentContext: current, contexts: merged.contexts, aceContexts: merged.aceContexts, tokens };
    });

    authed.post('/v1/clusters/:id/token', {
      schema: { ...common, summary: 'A cluster-scoped token for the "drover token" exec plugin', params: Params, querystring: TtlQuery, response: { 200: PluginToken, ...authErrors } },
    }, async (request) => {
      const { me, cluster } = await memberCluster(request, request.params.id);
      const issued = await issue(me, cluster.id, request.query.ttlSeconds, `exec plugin for ${cluster.name}`);
      return { token: issued.value, ...(issued.token.expiresAt ? { expiresAt: issued.token.expiresAt } : {}) };
    });

    authed.get('/v1/clusters/:id/doctor', {
      schema: {
        ...common, summary: 'Check a user\'s impersonation resources on a cluster (admins)', params: Params,
        querystring: Type.Object({ user: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
        response: { 200: DoctorReport, ...authErrors },
      },
    }, async (request) => {
      requireAdmin(request);
      const cluster = await options.clusters.get(request.params.id);
      const user = await options.users.get(request.query.user);
      const client = options.adminClient(cluster.id);
      if (!client) throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', `cluster ${cluster.name} is not connected; doctor needs its agent`);
      // The identity exactly as the user's tokens carry it (groups from principal ids), so a
      // group member's access and role rules are judged as the proxy would judge them.
      const identity = { id: user.id, username: user.username, principalIds: user.principalIds, groups: groupPrincipalIds(user.principalIds) };
      return runDoctor({
        client, clusterId: cluster.id, user: identity,
        hasAccess: user.enabled && await options.membership.canAccessCluster({ ...identity, globalRole: user.globalRole }, cluster.id),
      });
    });
    return Promise.resolve();
  };
}
