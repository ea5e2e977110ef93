// Counts every HTTP response by route, method and status.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';

export function registerRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) });
  });
}
