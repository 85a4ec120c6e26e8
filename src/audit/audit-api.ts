/**
 * `GET /v1/audit`: recent events from the store, newest first, for admins only (an
 * audit trail says what everyone did). Filters: `user` (id or username), `cluster`
 * (id), `verb`, `since` (a duration back from now: `1h`, `7d`), `limit` (default 100,
 * at most 1000). Events are stored already redacted.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { Type, type Static } from 'typebox';
import { authenticateWith, authErrors, requireAdmin, type TokenAuthenticator } from '../http/index.ts';
import { parseDuration } from '../durations/index.ts';
import { DroverError } from '../errors/index.ts';
import type { Database } from '../store/index.ts';
import { searchAuditEvents } from './store-sink.ts';
import type { AuditEvent } from './event.ts';
import type { RecordingHeader, SessionRecorder } from './session-recorder.ts';

export const AuditListQuery = Type.Object({
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  verb: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  since: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  // Query strings are text (the API does not coerce types).
  limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$' })),
}, { additionalProperties: false });

/** The answer: audit.k8s.io/v1 Events as they were recorded (their shape is kube-apiserver's, not repeated here). */
export const AuditList = Type.Object({ items: Type.Array(Type.Object({}, { additionalProperties: true })) });
export type AuditListAnswer = { items: AuditEvent[] };
export const SessionList = Type.Object({ items: Type.Array(Type.Object({}, { additionalProperties: true })) });
export type SessionListAnswer = { items: RecordingHeader[] };
export const SessionCast = Type.Object({ cast: Type.String() });

export interface AuditApiOptions {
  db: Kysely<Database>;
  authenticator: TokenAuthenticator;
  /** Resolves `cluster` given as a name (throws DRV_ERR_NOT_FOUND for neither id nor name). */
  clusters: { get(idOrName: string): Promise<{ id: string }> };
  /** Exec and attach recordings, for `/v1/audit/sessions`. */
  recordings: Pick<SessionRecorder, 'list' | 'read'>;
  now?: () => number;
}

export function auditApi(options: AuditApiOptions): FastifyPluginAsyncTypebox {
  const now = options.now ?? Date.now;
  return (app) => {
    app.get('/v1/audit', {
      schema: {
        summary: 'Recent audit events, newest first (admins)', tags: ['audit'], security: [{ bearer: [] }],
        querystring: AuditListQuery, response: { 200: AuditList, ...authErrors },
      },
      preHandler: authenticateWith(options.authenticator),
    }, async (request): Promise<AuditListAnswer> => {
      requireAdmin(request);
      const q: Static<typeof AuditListQuery> = request.query;
      let sinceMs: number | undefined;
      if (q.since !== undefined) {
        const seconds = parseDuration(q.since);
        if (seconds === undefined) throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `querystring/since: expected a duration such as 90s, 1h or 7d, got ${JSON.stringify(q.since)}`);
        sinceMs = now() - seconds * 1000;
      }
      const clusterId = q.cluster === undefined ? undefined : (await options.clusters.get(q.cluster)).id;
      const items = await searchAuditEvents(options.db, {
        limit: q.limit === undefined ? 100 : Number(q.limit), ...(q.user ? { user: q.user } : {}), ...(clusterId ? { clusterId } : {}), ...(q.verb ? { verb: q.verb } : {}),
        ...(sinceMs === undefined ? {} : { sinceMs }),
      });
      return { items };
    });
    app.get('/v1/audit/sessions', {
      schema: { summary: 'Recorded exec and attach sessions, newest first (admins)', tags: ['audit'], security: [{ bearer: [] }], response: { 200: SessionList, ...authErrors } },
      preHandler: authenticateWith(options.authenticator),
    }, async (request): Promise<SessionListAnswer> => {
      requireAdmin(request);
      return { items: await options.recordings.list() };
    });
    app.get('/v1/audit/sessions/:id', {
      schema: {
        summary: 'One recorded session: its asciicast v2 text (admins)', tags: ['audit'], security: [{ bearer: [] }],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }), response: { 200: SessionCast, ...authErrors },
      },
      preHandler: authenticateWith(options.authenticator),
    }, async (request): Promise<Static<typeof SessionCast>> => {
      requireAdmin(request);
      return { cast: await options.recordings.read(request.params.id) };
    });
    return Promise.resolve();
  };
}
