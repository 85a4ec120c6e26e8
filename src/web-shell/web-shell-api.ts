/**
 * /v1/clusters/:id/shell: the browser's kubectl console. Open a session (members
 * of the cluster, with a full login: a cluster-scoped token cannot open one), run
 * one command line at a time in it, close it. Only the session's owner reaches it;
 * anyone else's id answers 404.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authenticateWith, authErrors, caller, ErrorBody, type AuthenticatedUser, type TokenAuthenticator } from '../http/index.ts';
import { DroverError } from '../errors/index.ts';
import type { ShellSessions } from './shell-sessions.ts';
import { commandLineForAudit } from './command-line.ts';

export interface WebShellApiOptions {
  authenticator: TokenAuthenticator;
  sessions: ShellSessions;
  clusters: { get(idOrName: string): Promise<{ id: string; name: string; state: string }> };
  membership: { canAccessCluster(user: AuthenticatedUser, clusterId: string): Promise<boolean> };
}

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const SessionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), session: Type.String({ minLength: 1, maxLength: 64 }) });
const Opened = Type.Object({ id: Type.String(), expiresAt: Type.String(), programs: Type.Array(Type.String()) });
const Ran = Type.Object({ exitCode: Type.Integer(), output: Type.String(), truncated: Type.Boolean(), timedOut: Type.Boolean() });

export function webShellApi(options: WebShellApiOptions): FastifyPluginAsyncTypebox {
  const memberCluster = async (me: AuthenticatedUser, idOrName: string): Promise<{ id: string; name: string; state: string }> => {
    const cluster = await options.clusters.get(idOrName).catch(() => undefined);
    if (!cluster || !(await options.membership.canAccessCluster(me, cluster.id))) {
      throw new DroverError('DRV_ERR_NOT_FOUND', `no cluster "${idOrName.slice(0, 64)}" that you can use`);
    }
    return cluster;
  };
  return (app) => {
    app.addHook('preHandler', authenticateWith(options.authenticator));
    const common = { tags: ['clusters'], security: [{ bearer: [] }] };

    app.post('/v1/clusters/:id/shell', { schema: { ...common, summary: 'Open a browser kubectl console on this cluster (a fresh short-lived token, revoked when it closes)', params: Params, response: { 201: Opened, ...authErrors, 429: ErrorBody, 503: ErrorBody } } }, async (request, reply) => {
      const me = caller(request);
      if (me.token.clusterId !== undefined) throw new DroverError('DRV_ERR_FORBIDDEN', 'a cluster-scoped token cannot open a console; log in with "drover login" or the web UI');
      const cluster = await memberCluster(me, request.params.id);
      if (cluster.state !== 'active') throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', `cluster ${cluster.name} is ${cluster.state}; try again when it is Active`);
      return reply.status(201).send(await options.sessions.open(me, cluster));
    });

    app.post('/v1/clusters/:id/shell/:session/run', {
      // A line can carry secrets (`--from-literal=password=…`): the audit trail keeps it without its values.
      config: { auditBody: (body) => ({ command: commandLineForAudit((body as { command?: unknown } | null)?.command) }) },
      schema: { ...common, summary: 'Run one kubectl (or helm) command line in the console', params: SessionParams, body: Type.Object({ command: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }), response: { 200: Ran, ...authErrors, 409: ErrorBody, 422: ErrorBody } },
    }, async (request) => {
      const me = caller(request);
      const cluster = await memberCluster(me, request.params.id);
      return options.sessions.run(request.params.session, me, cluster.id, request.body.command);
    });

    app.delete('/v1/clusters/:id/shell/:session', { schema: { ...common, summary: 'Close the console: its token is revoked', params: SessionParams, response: { 204: Type.Null(), ...authErrors } } }, async (request, reply) => {
      const me = caller(request);
      const cluster = await memberCluster(me, request.params.id);
      await options.sessions.closeOwn(request.params.session, me, cluster.id);
      return reply.status(204).send(null);
    });
    return Promise.resolve();
  };
}
