/**
 * Builds the Fastify app for the REST API: the TypeBox schemas validate, the
 * same schemas become the OpenAPI document at /v1/openapi.json, one error
 * handler answers every failure, a 64 KiB body limit, and unknown body fields
 * are refused (Ajv's removeAdditional is off, every body schema is closed), and
 * types are never coerced (42 is not the username "42").
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import swagger from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { collectLiveRoutes, installErrorHandling, installUiSessions, type LiveRoutes, type UiSessions } from '../http/index.ts';
import type { Logger } from '../logging/index.ts';
import { droverVersion } from '../version/index.ts';
import { installApiAudit, type AuditTrail } from '../audit/index.ts';
import type { ApiContext } from './context.ts';
import { loginRoutes } from './login-routes.ts';
import { sessionRoutes } from './session-routes.ts';
import { uiRoutes } from './ui-routes.ts';
import { systemRoutes } from './system-routes.ts';
import { tokenRoutes } from './token-routes.ts';
import { userRoutes } from './user-routes.ts';

export const apiBodyLimitBytes = 64 * 1024;

export interface BuildApiOptions extends ApiContext {
  logger: Logger;
  /** Route plugins from other folders (clusters, access, …), registered after identity's. */
  plugins?: FastifyPluginAsyncTypebox[];
  /** Filled with the routes that declare `config.live` as they are registered (the replicas' REST relay reads it). */
  liveRoutes?: LiveRoutes;
  /** Lets the server own the https listener (see src/server/http-server.ts); tests use inject() without it. */
  serverFactory?: FastifyServerFactory;
  publicUrl?: string;
  /** The web UI's session settings (CSRF key, public origin), shared with the proxy. */
  uiSessions: UiSessions;
  /** The built web UI (dist/ui); the UI routes answer 404 with a hint when it is missing. */
  uiDir?: string;
  /** The audit trail /v1 calls that change something or authenticate are recorded in. */
  audit?: Pick<AuditTrail, 'begin'>;
}

export async function buildApi(options: BuildApiOptions): Promise<FastifyInstance> {
  // pino's Logger is Fastify's logger; this only widens it to the name Fastify's types use.
  const loggerInstance: FastifyBaseLogger = options.logger;
  const base = Fastify({
    loggerInstance,
    // Per-request lines come from our own hooks (errors.ts, metrics.ts), without URLs or headers.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: apiBodyLimitBytes,
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    return503OnClosing: true,
  });
  installErrorHandling(base);
  installUiSessions(base, options.uiSessions);
  options.metrics.observe(base);
  if (options.audit) installApiAudit(base, options.audit);
  if (options.liveRoutes) collectLiveRoutes(base, options.liveRoutes);
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Drover API', version: droverVersion, description: 'Errors are {"code","message"}; codes are listed in docs/errors.md.' },
      ...(options.publicUrl ? { servers: [{ url: options.publicUrl }] } : {}),
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'token-<id>:<secret>' } } },
    },
  });
  for (const routes of [systemRoutes(options), loginRoutes(options), userRoutes(options), tokenRoutes(options), sessionRoutes(options), ...(options.plugins ?? []), uiRoutes(options.uiDir === undefined ? {} : { dir: options.uiDir })]) {
    await app.register(routes);
  }
  await app.ready();
  return base;
}
