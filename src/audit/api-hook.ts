/**
 * Audit of Drover's own API: every `/v1` call that changes something (any method but
 * GET, HEAD and OPTIONS: logins and their failures, token create and revoke, members,
 * providers, cluster registration, settings) and every call that hands out a credential
 * or completes a login (`kubeconfig`, `token`, the providers' `callback`). These are
 * non-resource requests in the event (`verb` is the lower-case method, no objectRef),
 * so kube-apiserver policies with `nonResourceURLs: ["/v1/*"]` select them.
 *
 * Redaction: no response body is ever recorded (tokens, kubeconfigs and session
 * answers are credentials); at Request and RequestResponse the request body is
 * recorded without any credential-like field (`redactApiBody`), after the route's own
 * `auditBody` (route config) has taken out what a field's name cannot show, such as the
 * values typed in a browser console's command line. A failed login records the username
 * it tried as `user.extra.username`, never the password.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { knownCaller } from '../http/index.ts';
import { redactApiBody } from './redact.ts';
import type { AuditCaller, AuditTrail, RequestAudit } from './trail.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The request body as this route's audit events record it, for data a field name does not reveal (src/audit/api-hook.ts). */
    auditBody?: (body: unknown) => unknown;
  }
}

const readOnly = new Set(['GET', 'HEAD', 'OPTIONS']);
const credentialRoute = /\/(kubeconfig|token|cli-token|callback)(\/|$)/;

function isAudited(request: FastifyRequest): boolean {
  const path = request.url.split('?', 1)[0] ?? '';
  if (!path.startsWith('/v1/')) return false;
  return !readOnly.has(request.method) || credentialRoute.test(request.routeOptions.url ?? path);
}

/** The user a login answer names (its `user` block); only ids and names are read. */
function loggedInUser(payload: unknown): AuditCaller | undefined {
  if (typeof payload !== 'string' || !payload.includes('"user"')) return undefined;
  try {
    const user = (JSON.parse(payload) as { user?: Record<string, unknown> }).user;
    if (typeof user?.id !== 'string' || typeof user.username !== 'string') return undefined;
    const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    return { id: user.id, username: user.username, principalIds: list(user.principalIds), groups: list(user.groups) };
  } catch {
    return undefined;
  }
}

export function installApiAudit(app: FastifyInstance, trail: Pick<AuditTrail, 'begin'>): void {
  const records = new WeakMap<FastifyRequest, { record: RequestAudit; loggedIn?: AuditCaller }>();
  app.addHook('onRequest', (request, _reply, done) => {
    if (isAudited(request)) records.set(request, { record: trail.begin(request.raw) });
    done();
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    const entry = records.get(request);
    if (entry && !knownCaller(request)) {
      const user = loggedInUser(payload);
      if (user) entry.loggedIn = user;
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const entry = records.get(request);
    if (!entry) return;
    const caller = knownCaller(request) ?? entry.loggedIn;
    const { record } = entry;
    record.identify({ caller });
    const level = record.level();
    if ((level === 'Request' || level === 'RequestResponse') && request.body !== undefined) {
      const ownRedaction = request.routeOptions.config.auditBody;
      record.setRequestObject(redactApiBody(ownRedaction ? ownRedaction(request.body) : request.body));
    }
    const tried = (request.body as { username?: unknown } | undefined)?.username;
    if (!caller && typeof tried === 'string') record.attempted(tried);
    record.complete(reply.statusCode);
  });
}
