// GET /metrics: Prometheus text.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';

export function metricsRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
