/**
 * /v1/clusters: admins register, list, inspect, rotate and delete clusters; the
 * unauthenticated /v1/import/<token>.yaml serves the import manifest, valid only
 * for a current registration token (and answering the same 404 for any other, so
 * tokens cannot be probed).
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authenticateWith, caller, requireAdmin, authErrors, ErrorBody } from '../http/index.ts';
import type { AuthenticatedUser, TokenAuthenticator } from '../identity/index.ts';
import { DroverError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { ClusterService } from './cluster-service.ts';
import type { ClusterControllers } from './cluster-controller.ts';
import { importManifest } from './import-manifest.ts';
import { isWellFormedRegistrationToken } from './registration-token.ts';
import { removeDroverObjects } from './cleanup.ts';
import { sayGoodbye } from './goodbye.ts';
import type { AgentSessionView, TunnelServer } from '../tunnel/index.ts';
import { Cluster, ClusterWarning, CreatedCluster, Registration } from '../api-types/index.ts';

const CreateCluster = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 63 }),
  displayName: Type.Optional(Type.String({ maxLength: 256 })),
  tokenTtlSeconds: Type.Optional(Type.Integer({ minimum: 60 })),
}, { additionalProperties: false });

const UpdateCluster = Type.Object({
  displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
}, { additionalProperties: false });

const RotateToken = Type.Object({
  graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 })),
  tokenTtlSeconds: Type.Optional(Type.Integer({ minimum: 60 })),
}, { additionalProperties: false });

const AcceptApiServer = Type.Object({
  digest: Type.String({ minLength: 1, maxLength: 64, description: 'apiServerConflict.digest of the report being accepted' }),
}, { additionalProperties: false });

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

/** Who sees which cluster (access/ implements it); admins see all. */
export interface ClusterVisibility {
  canAccessCluster(user: AuthenticatedUser, clusterId: string): Promise<boolean>;
  visibleClusterIds(user: AuthenticatedUser): Promise<Set<string> | 'all'>;
  /** Whether the user's bindings grant `rule` in the whole cluster. */
  holds(user: AuthenticatedUser, scope: { clusterId: string }, rule: { apiGroups: string[]; resources: string[]; verbs: string[] }): Promise<boolean>;
}

/** The cluster's Warning events are read across namespaces: only for who may list events in all of them. */
const listEventsEverywhere = { apiGroups: [''], resources: ['events'], verbs: ['list'] };

export interface ClustersApiOptions {
  membership?: ClusterVisibility;
  service: ClusterService;
  controllers: ClusterControllers;
  /** For telling a deleted cluster's agents to exit. */
  tunnel: Pick<TunnelServer, 'sessionsOf'>;
  authenticator: TokenAuthenticator;
  publicUrl: string;
  caPem: string;
  agentImage: string;
  logger: Logger;
  /**
   * After a cluster's agents were told it is deleted: what else must go (provisioning
   * forgets its nodes), given the node names that were told; returns a note for the answer.
   */
  onDelete?: (clusterId: string, toldNodes: string[]) => Promise<string>;
  /**
   * kube-api-auth for the import manifest when the cluster's authorized endpoint is on
   * (as the reference's agent manifest carries its DaemonSet then); undefined: left out.
   */
  kubeApiAuth?: (clusterId: string) => Promise<{ listen: string } | undefined>;
}

/** The two plugins: the unauthenticated import route, and the authenticated /v1/clusters routes. */
export function clustersApi(options: ClustersApiOptions): FastifyPluginAsyncTypebox[] {
  const caChecksum = createHash('sha256').update(options.caPem, 'utf8').digest('hex');
  return [importRoute(options, caChecksum), clusterRoutes(options, caChecksum)];
}

function importRoute(options: ClustersApiOptions, caChecksum: string): FastifyPluginAsyncTypebox {
  const { service } = options;
  // The import manifest is fetched by kubectl/curl inside the cluster, with no Drover login.
  return (app) => {
    app.get('/v1/import/:file', {
      schema: { tags: ['clusters'], summary: 'The import manifest for a registration token', params: Type.Object({ file: Type.String({ maxLength: 80 }) }), response: { 200: Type.String(), 404: ErrorBody } },
    }, async (request, reply) => {
      const token = request.params.file.replace(/\.yaml$/, '');
      const notFound = new DroverError('DRV_ERR_NOT_FOUND', 'no cluster for this registration token (it may have been rotated or expired)');
      if (!isWellFormedRegistrationToken(token)) throw notFound;
      const cluster = await service.clusterForToken(token).catch(() => { throw notFound; });
      const kubeApiAuth = await options.kubeApiAuth?.(cluster.id);
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(importManifest({
        serverUrl: options.publicUrl, clusterId: cluster.id, registrationToken: token, caChecksum, image: options.agentImage,
        ...(kubeApiAuth ? { kubeApiAuth } : {}),
      }));
    });
    return Promise.resolve();
  };
}

function clusterRoutes(options: ClustersApiOptions, caChecksum: string): FastifyPluginAsyncTypebox {
  const { service, controllers, tunnel } = options;
  const registration = (token: string): Registration => {
    const manifestUrl = `${options.publicUrl}/v1/import/${token}.yaml`;
    return {
      token, caChecksum, manifestUrl,
      agentCommand: `drover agent --server ${options.publicUrl} --token ${token} --ca-checksum ${caChecksum}`,
      kubectlCommand: `curl --cacert <(curl -sk ${options.publicUrl}/cacerts) -sfL ${manifestUrl} | kubectl apply -f -`,
    };
  };

  return (authed) => {
    authed.addHook('preHandler', authenticateWith(options.authenticator));
    const common = { tags: ['clusters'], security: [{ bearer: [] }] };

    authed.post('/v1/clusters', {
      schema: { ...common, summary: 'Register a cluster (admins): returns the agent command, shown with its token', body: CreateCluster,
        response: { 201: CreatedCluster, ...authErrors, 409: ErrorBody } },
    }, async (request, reply) => {
      requireAdmin(request);
      const { cluster, registrationToken } = await service.create({
        name: request.body.name,
        ...(request.body.displayName ? { displayName: request.body.displayName } : {}),
        ...(request.body.tokenTtlSeconds ? { tokenTtlMs: request.body.tokenTtlSeconds * 1000 } : {}),
      });
      return reply.status(201).send({ cluster, registration: registration(registrationToken) });
    });

    authed.get('/v1/clusters', { schema: { ...common, summary: 'List the clusters you can see', response: { 200: Type.Array(Cluster), ...authErrors } } }, async (request) => {
      const me = caller(request);
      if (me.globalRole === 'admin') return service.list();
      // Members see the clusters they have a binding on; without memberships, none.
      const visible = await options.membership?.visibleClusterIds(me);
      if (visible === undefined) return [];
      return (await service.list()).filter((c) => visible === 'all' || visible.has(c.id));
    });

    authed.get('/v1/clusters/:id', { schema: { ...common, summary: 'Get a cluster by id or name', params: Params, response: { 200: Cluster, ...authErrors } } }, async (request) => {
      const cluster = await service.get(request.params.id).catch(() => undefined);
      await requireVisible(request, cluster?.id, options.membership);
      return cluster ?? service.get(request.params.id);
    });

    authed.get('/v1/clusters/:id/registration', {
      schema: { ...common, summary: 'The agent command and import manifest URL (admins)', params: Params, response: { 200: Registration, ...authErrors } },
    }, async (request) => {
      requireAdmin(request);
      return registration(await service.registrationToken(request.params.id));
    });

    authed.post('/v1/clusters/:id/rotate-token', {
      schema: { ...common, summary: 'Issue a new registration token (admins); the old one works for graceSeconds, then agent sessions opened with it end', params: Params, body: RotateToken, response: { 200: Registration, ...authErrors } },
    }, async (request) => {
      requireAdmin(request);
      const cluster = await service.get(request.params.id);
      const ttl = request.body.tokenTtlSeconds ? { tokenTtlMs: request.body.tokenTtlSeconds * 1000 } : {};
      const token = await service.rotateToken(cluster.id, { graceMs: (request.body.graceSeconds ?? 0) * 1000, ...ttl });
      // Without a grace period, sessions opened with the old token end now here, and on the other replicas at their next check.
      await controllers.endRevokedSessions([cluster.id]);
      return registration(token);
    });

    authed.post('/v1/clusters/:id/accept-apiserver', {
      schema: { ...common, summary: 'Accept the kube-apiserver an agent reported instead of the pinned one (admins)', params: Params, body: AcceptApiServer,
        response: { 200: Cluster, ...authErrors, 409: ErrorBody } },
    }, async (request) => {
      requireAdmin(request);
      const cluster = await service.acceptConflict(request.params.id, request.body.digest);
      options.logger.warn({ cluster: cluster.id, apiServer: cluster.apiServer, account: cluster.agentAccount, by: caller(request).id }, 'an admin accepted a new kube-apiserver for the cluster');
      await controllers.apiServerAccepted(cluster.id);
      return cluster;
    });

    authed.patch('/v1/clusters/:id', {
      schema: { ...common, summary: 'Update a cluster (admins)', params: Params, body: UpdateCluster, response: { 200: Cluster, ...authErrors } },
    }, async (request) => {
      requireAdmin(request);
      const { displayName } = request.body;
      return displayName === undefined ? service.get(request.params.id) : service.updateDisplayName(request.params.id, displayName);
    });

    // live: only the owner replica watches the events (src/http/live-routes.ts).
    authed.get('/v1/clusters/:id/warnings', {
      config: { live: 'owner' },
      schema: { ...common, summary: 'Recent Warning events in the cluster', params: Params, response: { 200: Type.Array(ClusterWarning), ...authErrors } },
    }, async (request) => {
      const cluster = await service.get(request.params.id).catch(() => undefined);
      await requireVisible(request, cluster?.id, options.membership);
      if (!cluster) throw new DroverError('DRV_ERR_NOT_FOUND', 'no such cluster');
      // A project member would otherwise read other namespaces' events here (their messages
      // name Secrets, volumes, images): the same rule kubectl would meet in the cluster.
      if (options.membership && !(await options.membership.holds(caller(request), { clusterId: cluster.id }, listEventsEverywhere))) {
        throw new DroverError('DRV_ERR_FORBIDDEN', `the cluster's warnings span every namespace, and your roles on ${cluster.name} do not let you list events in all of them; `
          + 'read your namespaces\' events with kubectl get events -n NAMESPACE');
      }
      return controllers.warnings(cluster.id).map((e) => ({
        reason: e.reason ?? '', message: e.message ?? '', count: e.count ?? 1,
        object: `${e.involvedObject.kind ?? ''}/${e.involvedObject.namespace ? `${e.involvedObject.namespace}/` : ''}${e.involvedObject.name ?? ''}`,
        lastSeen: e.lastTimestamp ?? e.metadata.creationTimestamp ?? '',
      }));
    });

    // live: Drover's objects are removed from the cluster through its tunnel.
    authed.delete('/v1/clusters/:id', {
      config: { live: 'session' },
      schema: { ...common, summary: 'Delete a cluster (admins): removes what Drover created in it when reachable, tells connected agents to exit, and forgets it',
        params: Params, response: { 200: Type.Object({ cluster: Cluster, cleanedUp: Type.Boolean(), removedObjects: Type.Integer(), agentsTold: Type.Integer(), note: Type.String() }), ...authErrors } },
    }, async (request) => {
      requireAdmin(request);
      const cluster = await service.get(request.params.id);
      const live = controllers.live(cluster.id);
      let removedObjects = 0;
      let note = 'the cluster was not reachable: remove the cattle-system namespace, Drover\'s CRDs (*.cluster.drover.dev) and Drover-labelled objects by hand';
      if (live) {
        try {
          removedObjects = await removeDroverObjects(live.client);
          note = 'removed Drover\'s objects and CRDs from the cluster; its in-cluster agents stop when their namespace is gone';
        } catch (error) {
          note = `cleanup in the cluster failed (${error instanceof Error ? error.message : String(error)}); the cluster is forgotten anyway`;
          options.logger.warn({ cluster: cluster.id, error: note }, 'cluster cleanup failed');
        }
      }
      // The registration token dies with the row: an agent not connected now is refused (and exits) at its next attempt.
      const sessions = tunnel.sessionsOf(cluster.id);
      const agentsTold = await dismissAgents(sessions, cluster.name, options.logger);
      const more = await options.onDelete?.(cluster.id, sessions.flatMap((s) => (s.info.identity.nodeName ? [s.info.identity.nodeName] : [])));
      await controllers.forget(cluster.id);
      await service.delete(cluster.id);
      note += agentsTold > 0 ? `; told ${agentsTold} connected agent(s) to exit`
        : '; no agent was connected: a hand-run agent exits at its next connection attempt, when the server answers that its token is unknown';
      note += more ?? '';
      return { cluster, cleanedUp: live !== undefined && removedObjects > 0, removedObjects, agentsTold, note };
    });
    return Promise.resolve();
  };
}

/** Tells each session's agent that its cluster is gone (so a hand-run agent exits), then closes it. */
export async function dismissAgents(sessions: AgentSessionView[], clusterName: string, logger: Logger): Promise<number> {
  const message = `cluster "${clusterName}" was deleted from the Drover server: this agent has nothing left to serve and exits`;
  const told = await Promise.all(sessions.map(async (session) => {
    const ok = await sayGoodbye(session, { reason: 'cluster-deleted', message }, logger);
    session.destroy({ type: 'refused', message: 'cluster deleted' });
    return ok;
  }));
  return told.filter(Boolean).length;
}

/** Non-admins see only clusters they are members of; "not found" keeps names from leaking. */
async function requireVisible(request: Parameters<typeof caller>[0], clusterId?: string, membership?: ClusterVisibility): Promise<void> {
  const me = caller(request);
  if (me.globalRole === 'admin') return;
  if (clusterId !== undefined && membership && await membership.canAccessCluster(me, clusterId)) return;
  throw new DroverError('DRV_ERR_NOT_FOUND', 'no such cluster');
}
