/**
 * GET /v1/replicas (admins): every replica row as this replica last read it, with
 * whether its heartbeat is fresh, the clusters it owns and the clusters it holds
 * agent sessions for. Shapes are declared once here; the CLI imports them type-only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { authenticateWith, requireAdmin, authErrors } from '../http/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';
import type { ReplicaPresence } from './presence.ts';

export const ReplicaView = Type.Object({
  id: Type.String(),
  address: Type.String(),
  version: Type.String(),
  startedAt: Type.String(),
  /** ISO time of the last heartbeat. */
  lastHeartbeat: Type.String(),
  /** The heartbeat is recent enough for peers to count on this replica. */
  live: Type.Boolean(),
  /** This is the replica that answered. */
  self: Type.Boolean(),
  /** Clusters whose controller work this replica runs. */
  owns: Type.Array(Type.String()),
});
export type ReplicaView = Static<typeof ReplicaView>;
export const ReplicaList = Type.Object({ items: Type.Array(ReplicaView) });
export type ReplicaList = Static<typeof ReplicaList>;

export function replicasApi(options: { presence: ReplicaPresence; authenticator: TokenAuthenticator }): FastifyPluginAsyncTypebox {
  const { presence } = options;
  return (authed) => {
    authed.addHook('preHandler', authenticateWith(options.authenticator));
    authed.get('/v1/replicas', {
      schema: {
        tags: ['replicas'], security: [{ bearer: [] }],
        summary: 'The server replicas sharing this database: address, version, last heartbeat and the clusters each owns (admins)',
        response: { 200: ReplicaList, ...authErrors },
      },
    }, async (request) => {
      requireAdmin(request);
      await presence.refresh();
      return {
        items: presence.list().map((r) => ({
          id: r.id, address: r.address, version: r.version, startedAt: r.startedAt, lastHeartbeat: new Date(r.heartbeatAt).toISOString(),
          live: r.live, self: r.id === presence.id, owns: r.owns,
        })),
      };
    });
    return Promise.resolve();
  };
}
