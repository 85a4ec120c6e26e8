/**
 * Provisioning's routes. Two plugins:
 *
 * - for node agents, under /v1/provisioning/node/: register, the plan, progress
 *   reports and the binaries. No Drover login: the registration token (header, as
 *   on the tunnel) names the cluster, and only a provisioned cluster's token is
 *   taken; the node name and node id headers name the node. Binaries are served
 *   only at the cluster's own version, and a snapshot only to a registered node of
 *   its cluster while that cluster is being restored to it (the node downloads it,
 *   as it does the binaries: the tunnel takes requests of at most 1 MiB).
 * - for admins: create a custom cluster (`POST /v1/provisioning/clusters`) and
 *   read its nodes with their progress (`GET /v1/clusters/:id/nodes`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authenticateWith, requireAdmin, authErrors, ErrorBody } from '../http/index.ts';
import { CreatedCustomCluster, EtcdSnapshot, KubernetesVersions, ProvisionedNodes, RestoreAsked } from '../api-types/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';
import { agentHeaders } from '../agent-protocol/index.ts';
import { DroverError } from '../errors/index.ts';
import type { ClusterService } from '../clusters/index.ts';
import type { KubernetesBinaries } from './binaries.ts';
import type { ProvisioningService } from './provisioning-service.ts';
import type { ProvisioningDriver } from './driver.ts';
import type { EtcdSnapshots } from './snapshots.ts';
import { planChangedRoute, roleNames, type NodeRegistration } from './plan.ts';
import type { AgentSessionView } from '../tunnel/index.ts';
import { checkSchedule, newClusterSchedule } from './snapshot-schedule.ts';

/** The header carrying the node's random id (from its data dir). */
export const nodeIdHeader = 'x-drover-node-id';
export const nodeApiPrefix = '/v1/provisioning/node';

const Ports = Type.Object({
  etcdClient: Type.Integer(), etcdPeer: Type.Integer(), apiServer: Type.Integer(),
  kubeApiAuth: Type.Integer(), controllerManager: Type.Integer(), scheduler: Type.Integer(),
}, { additionalProperties: false });
const Registration = Type.Object({
  name: Type.String({ maxLength: 63 }), nodeId: Type.String({ maxLength: 32 }),
  roles: Type.Array(Type.Union(roleNames.map((r) => Type.Literal(r))), { minItems: 1, maxItems: 3 }),
  address: Type.String({ maxLength: 45 }), ports: Ports, clusterId: Type.Optional(Type.String({ maxLength: 64 })),
}, { additionalProperties: false });
const Progress = Type.Object({
  planId: Type.Optional(Type.String({ maxLength: 64 })),
  total: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  steps: Type.Array(Type.Object({
    step: Type.String({ maxLength: 80 }), state: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
    message: Type.Optional(Type.String({ maxLength: 4000 })), at: Type.String({ maxLength: 40 }),
  }, { additionalProperties: false }), { maxItems: 100 }),
}, { additionalProperties: false });
const Schedule = Type.Object({
  everySeconds: Type.Integer({ minimum: 0, description: 'seconds between scheduled etcd snapshots; 0 turns the schedule off' }),
  retention: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'how many scheduled snapshots are kept (default 5)' })),
}, { additionalProperties: false });
const CreateCustom = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 63 }),
  kubernetesVersion: Type.String({ minLength: 1, maxLength: 64 }),
  /** Absent: every 12 h, the newest 5 kept (the reference's RKE2 default); `everySeconds` 0: none. */
  snapshotSchedule: Type.Optional(Schedule),
}, { additionalProperties: false });
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

export interface ProvisioningApiOptions {
  service: ProvisioningService;
  /** The engine `POST /v1/provisioning/clusters` creates with. */
  driver: ProvisioningDriver;
  snapshots: EtcdSnapshots;
  clusters: Pick<ClusterService, 'get'>;
  binaries: KubernetesBinaries;
  authenticator: TokenAuthenticator;
  /** The cluster's tunnel sessions here, to tell their nodes their plan changed (nodes without a session find out within 10 s). */
  sessionsOf: (clusterId: string) => AgentSessionView[];
}

function header(request: FastifyRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value !== 'string' || value === '') throw new DroverError('DRV_ERR_UNAUTHENTICATED', `missing ${name} header: run the node agent with the command "drover clusters create --custom" printed`);
  return value;
}

export function provisioningApi(options: ProvisioningApiOptions): FastifyPluginAsyncTypebox[] {
  return [nodeRoutes(options), adminRoutes(options)];
}

function nodeRoutes(options: ProvisioningApiOptions): FastifyPluginAsyncTypebox {
  const { service, binaries } = options;
  const node = (request: FastifyRequest): { token: string; name: string; id: string } => ({
    token: header(request, agentHeaders.token), name: header(request, agentHeaders.node), id: header(request, nodeIdHeader),
  });
  const common = { tags: ['provisioning'] };
  return (app) => {
    app.post(`${nodeApiPrefix}/register`, {
      schema: { ...common, summary: 'A node agent registers its roles, address and ports (registration token)', body: Registration,
        response: { 200: Type.Object({ clusterId: Type.String(), clusterName: Type.String() }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody } },
    }, async (request) => service.register(header(request, agentHeaders.token), request.body as NodeRegistration));

    app.get(`${nodeApiPrefix}/plan`, { schema: { ...common, summary: 'The node\'s plan, or why there is none yet (registration token)' } }, async (request, reply) => {
      const who = node(request);
      return reply.header('cache-control', 'no-store').send(await service.plan(who.token, who.name, who.id));
    });

    app.post(`${nodeApiPrefix}/progress`, { schema: { ...common, summary: 'A node agent reports its steps (registration token)', body: Progress } }, async (request, reply) => {
      const who = node(request);
      await service.report(who.token, who.name, who.id, request.body);
      return reply.status(204).send();
    });

    app.get(`${nodeApiPrefix}/binaries/:version/:name`, {
      schema: { ...common, summary: 'A Kubernetes binary at the cluster\'s version (registration token)', params: Type.Object({ version: Type.String({ maxLength: 64 }), name: Type.String({ maxLength: 40 }) }) },
    }, async (request, reply) => {
      const { cluster, version } = await service.clusterForNode(header(request, agentHeaders.token));
      if (request.params.version !== version) {
        throw new DroverError('DRV_ERR_FORBIDDEN', `cluster "${cluster.name}" runs Kubernetes ${version}; its nodes get only that version's binaries`);
      }
      const file = binaries.open(version, request.params.name);
      return reply.type('application/octet-stream').header('content-length', String(file.size)).send(file.stream);
    });

    app.get(`${nodeApiPrefix}/snapshots/:id`, {
      schema: { ...common, summary: 'The etcd snapshot the node\'s cluster is being restored to (registration token)', params: Type.Object({ id: Type.String({ maxLength: 64 }) }) },
    }, async (request, reply) => {
      const who = node(request);
      const { clusterId } = await service.restoreForNode(who.token, who.name, who.id, request.params.id);
      const file = await options.snapshots.open(clusterId, request.params.id);
      return reply.type('application/octet-stream').header('content-length', String(file.size)).send(file.stream);
    });
    return Promise.resolve();
  };
}

function adminRoutes(options: ProvisioningApiOptions): FastifyPluginAsyncTypebox {
  const { driver } = options;
  return (authed) => {
    authed.addHook('preHandler', authenticateWith(options.authenticator));
    const common = { tags: ['provisioning'], security: [{ bearer: [] }] };
    authed.post('/v1/provisioning/clusters', {
      schema: { ...common, summary: 'Create a cluster Drover provisions on registered machines (admins): returns the node command; without snapshotSchedule it snapshots etcd every 12 h, keeping 5', body: CreateCustom,
        response: { 201: CreatedCustomCluster, ...authErrors, 409: ErrorBody } },
    }, async (request, reply) => {
      requireAdmin(request);
      const { snapshotSchedule, ...spec } = request.body;
      const schedule = newClusterSchedule(snapshotSchedule);
      return reply.status(201).send(await driver.create({ ...spec, ...(schedule ? { snapshotSchedule: schedule } : {}) }));
    });
    authed.get('/v1/provisioning/versions', {
      schema: { ...common, summary: 'The Kubernetes versions this server can provision (admins): those it has every binary for', response: { 200: KubernetesVersions, ...authErrors } },
    }, (request) => {
      requireAdmin(request);
      return Promise.resolve({ versions: options.binaries.versions() });
    });
    authed.get('/v1/clusters/:id/nodes', {
      schema: { ...common, summary: 'A provisioned cluster\'s nodes with each step\'s progress (admins)', params: Params, response: { 200: ProvisionedNodes, ...authErrors } },
    }, async (request) => {
      requireAdmin(request);
      const cluster = await options.clusters.get(request.params.id);
      const version = await driver.versionOf(cluster.id);
      if (version === undefined) return { provisioned: false, nodes: [] };
      const snapshotSchedule = await options.service.snapshotSchedule(cluster.id);
      return {
        provisioned: true, kubernetesVersion: version, nodes: await driver.nodes(cluster.id), registration: await driver.registration(cluster.id),
        ...(snapshotSchedule ? { snapshotSchedule } : {}),
      };
    });
    const provisioned = async (id: string): Promise<{ id: string; name: string }> => {
      const cluster = await options.clusters.get(id);
      if ((await driver.versionOf(cluster.id)) === undefined) {
        throw new DroverError('DRV_ERR_BAD_REQUEST', `cluster "${cluster.name}" was imported, not provisioned by Drover: take its etcd snapshots where its etcd runs`);
      }
      return cluster;
    };
    // live: taken through a node agent's tunnel session.
    authed.post('/v1/clusters/:id/snapshots', {
      config: { live: 'session' },
      schema: { ...common, summary: 'Take an etcd snapshot of a provisioned cluster, kept by the server (admins)', params: Params, response: { 201: EtcdSnapshot, ...authErrors } },
    }, async (request, reply) => {
      requireAdmin(request);
      return reply.status(201).send(await options.snapshots.create(await provisioned(request.params.id)));
    });
    authed.get('/v1/clusters/:id/snapshots', {
      schema: { ...common, summary: 'A provisioned cluster\'s etcd snapshots, oldest first (admins)', params: Params, response: { 200: Type.Array(EtcdSnapshot), ...authErrors } },
    }, async (request) => {
      requireAdmin(request);
      return options.snapshots.list((await provisioned(request.params.id)).id);
    });
    authed.put('/v1/clusters/:id/snapshot-schedule', {
      schema: { ...common, summary: 'Set or turn off a provisioned cluster\'s etcd snapshot schedule and retention (admins)', params: Params, body: Schedule,
        response: { 200: Type.Unknown(), ...authErrors } },
    }, async (request) => {
      requireAdmin(request);
      const cluster = await provisioned(request.params.id);
      const schedule = checkSchedule(request.body.everySeconds, request.body.retention);
      await options.service.setSnapshotSchedule(cluster.id, schedule);
      return { snapshotSchedule: schedule ?? null };
    });
    authed.post('/v1/clusters/:id/snapshots/:snapshotId/restore', {
      schema: { ...common, summary: 'Restore a provisioned cluster to one of its etcd snapshots: its nodes carry it out on their next plan (admins)',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), snapshotId: Type.String({ minLength: 1, maxLength: 64 }) }), response: { 202: RestoreAsked, ...authErrors, 404: ErrorBody } },
    }, async (request, reply) => {
      requireAdmin(request);
      const cluster = await provisioned(request.params.id);
      const snapshot = await options.snapshots.get(cluster, request.params.snapshotId);
      const asked = await options.service.requestRestore(cluster.id, snapshot);
      // Only a speed-up: a node that misses it (no session here, an older node agent) checks its plan within 10 s anyway.
      // Every control-plane node at once: a restored etcd member waits for its quorum, so the members should restore together.
      for (const session of options.sessionsOf(cluster.id)) {
        void session.request(planChangedRoute.method, planChangedRoute.path, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      }
      return reply.status(202).send(asked);
    });
    return Promise.resolve();
  };
}
