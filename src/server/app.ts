// The Fastify factory: request ids, CORS, auth, OpenAI-shaped errors, metrics, and the routes.
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Metrics } from '../observability/metrics.js';
import { ApiError, toApiError } from './errors.js';
import { registerAuth } from './plugins/auth.js';
import { registerRequestMetrics } from './plugins/request-metrics.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { chatRoutes } from './routes/openai/chat.js';
import { completionRoutes } from './routes/openai/completions.js';
import { embeddingRoutes } from './routes/openai/embeddings.js';
import { modelRoutes } from './routes/openai/models.js';
import { tokenizeRoutes } from './routes/tokenize.js';
import { wsRoutes } from './routes/ws.js';
import type { ServedModels } from './served-models.js';

export type AppConfig = Pick<Config, 'apiKeys' | 'corsOrigins' | 'logLevel' | 'bodyLimitBytes'>;

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export async function buildApp(config: AppConfig, models: ServedModels, metrics: Metrics): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    // Honour a sane x-request-id from the client, else make one; it is on every log line.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      // One line per request only when debugging; generations log their own lines.
      disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace',
    }),
  });

  // Every POST takes JSON; anything else is a 415 rather than a string the schemas puzzle over.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      allowedHeaders: ['authorization', 'content-type', 'x-api-key', 'x-request-id'],
      exposedHeaders: ['x-request-id'],
    });
  }
  registerAuth(app, config.apiKeys);
  registerRequestMetrics(app, metrics);
  await app.register(websocket);

  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.isServerFault) request.log.error({ err: error }, 'request failed');
    reply.status(apiError.status).headers(apiError.headers).send(apiError.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const e = new ApiError(404, `There is no ${request.method} ${request.url.split('?')[0]} on this server.`, null, 'not_found');
    reply.status(404).send(e.body());
  });

  healthRoutes(app, models);
  modelRoutes(app, models);
  chatRoutes(app, models);
  completionRoutes(app, models);
  embeddingRoutes(app, models);
  tokenizeRoutes(app, models);
  metricsRoutes(app, metrics);
  wsRoutes(app, models);
  return app;
}
