/**
 * api/: the JSON REST API under /v1 (plus /cacerts, /healthz, /readyz, /metrics),
 * on Fastify with TypeBox schemas that validate requests and generate the
 * OpenAPI 3 document at /v1/openapi.json.
 *
 * Trusts: identity's authenticator for who the caller is (a Bearer token, or the
 * web UI's `__Host-drover_session` cookie only with its CSRF header and our own Origin,
 * see session.ts). Refuses: bodies over
 * 64 KiB, malformed JSON, unknown fields, missing/invalid tokens (401), non-admins
 * on admin routes (403), a user who must change their password anywhere but whoami,
 * the change and logout (403), and other users' objects (404, so ids cannot be probed).
 * Fails closed: any unexpected error is a 500 with a generic message; a route
 * that forgets its authentication hook gets a 500, never an anonymous caller.
 * Errors are answered in one place (`errors.ts`) as `{code, message}`.
 */
export { buildApi, apiBodyLimitBytes, type BuildApiOptions } from './app.ts';
export type { ApiContext } from './context.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { errorBody, toDroverError, type ErrorBodyShape } from './errors.ts';
export { authenticateWith, caller, requireAdmin } from './auth.ts';
export {
  UiSessions, bindUiSessions, uiSessionsFor, setUiSession, clearUiSession, credentialFrom, sessionCookieName, csrfHeaderName,
} from './session.ts';
