/** Unauthenticated: /cacerts, /healthz, /readyz, /metrics, /v1/openapi.json; authenticated: /v1/whoami. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody, authErrors, authenticateWith, caller } from '../http/index.ts';
import { DroverError } from '../errors/index.ts';
import type { ApiContext } from './context.ts';
import { Health } from './schemas.ts';
import { Whoami } from '../api-types/index.ts';

export function systemRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  return (app) => {
    app.get('/cacerts', { schema: { summary: 'The CA certificate (PEM); pin it by sha256 of exactly these bytes', tags: ['system'], produces: ['application/x-pem-file'] } },
      async (_request, reply) => reply.type('application/x-pem-file').send(ctx.caPem));

    app.get('/healthz', { schema: { tags: ['system'], summary: 'Liveness', response: { 200: Health } } }, () => ({ status: 'ok' }));

    app.get('/readyz', { schema: { tags: ['system'], summary: 'Readiness: the database answers and the server is not shutting down', response: { 200: Health, 503: ErrorBody } } }, async (request, reply) => {
      try {
        await ctx.readiness();
      } catch (error) {
        // Which of the two it is, said to whoever asks (an operator's curl, a load balancer's
        // log): our own reason (shutting down, logged once when it began) as it is; anything
        // else is the database's failure, whose details go to the log only.
        if (error instanceof DroverError) return reply.code(503).send({ code: error.code, message: error.message });
        request.log.warn({ err: error }, 'not ready: the database does not answer');
        return reply.code(503).send({ code: 'DRV_ERR_SERVER_UNAVAILABLE', message: 'not ready: the database does not answer' });
      }
      return { status: 'ok' };
    });

    app.get('/metrics', { schema: { tags: ['system'], summary: 'Prometheus metrics', hide: true } }, async (_request, reply) =>
      reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));

    app.get('/v1/openapi.json', { schema: { tags: ['system'], summary: 'This API as an OpenAPI 3 document', hide: true } }, () => app.swagger());

    app.get('/v1/whoami', {
      schema: { tags: ['auth'], summary: 'Who the token belongs to', security: [{ bearer: [] }], response: { 200: Whoami, ...authErrors } },
      preHandler: authenticateWith(ctx.identity.authenticator),
    }, (request) => caller(request));
    return Promise.resolve();
  };
}
