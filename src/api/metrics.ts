/** Prometheus metrics: login outcomes, request counts and durations by route. One registry per server. */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LoginObserver } from '../identity/index.ts';

export interface Metrics {
  registry: Registry;
  loginObserver: LoginObserver;
  /** Records every answered request under its route pattern (never the raw URL). */
  observe(app: FastifyInstance): void;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'drover_' });
  const logins = new Counter({ name: 'drover_logins_total', help: 'Password logins by result', labelNames: ['result', 'reason'], registers: [registry] });
  const requests = new Counter({ name: 'drover_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const durations = new Histogram({
    name: 'drover_http_request_duration_seconds', help: 'HTTP request duration by route', labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry],
  });
  return {
    registry,
    loginObserver: {
      loginSucceeded: () => logins.inc({ result: 'success', reason: '' }),
      loginFailed: (reason) => logins.inc({ result: 'failure', reason }),
    },
    observe(app) {
      app.addHook('onResponse', async (request, reply) => {
        const route = request.routeOptions.url ?? 'unmatched';
        requests.inc({ method: request.method, route, status: String(reply.statusCode) });
        durations.observe({ method: request.method, route }, reply.elapsedTime / 1000);
        request.log.debug({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request answered');
      });
    },
  };
}
