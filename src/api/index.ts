/**
 * api/: the JSON REST API under /v1 (plus /cacerts, /healthz, /readyz, /metrics),
 * on Fastify with TypeBox schemas that validate requests and generate the
 * OpenAPI 3 document at /v1/openapi.json.
 *
 * This folder assembles the app (the login, session, user, token, system and UI
 * routes); who the caller is, the route guards, the session cookie and the error
 * responder live one layer down in http/, which every route family shares.
 *
 * Refuses: bodies over 64 KiB, malformed JSON, unknown fields, and other users'
 * objects (404, so ids cannot be probed); the credential rules are http/'s.
 */
export { buildApi, apiBodyLimitBytes, type BuildApiOptions } from './app.ts';
export type { ApiContext } from './context.ts';
export { createMetrics, type Metrics } from './metrics.ts';
