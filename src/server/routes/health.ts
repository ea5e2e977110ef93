// GET /health: 503 while models load, 200 once every model is ready.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import type { ServedModels } from '../served-models.js';

export function healthRoutes(app: FastifyInstance, models: ServedModels): void {
  app.get('/health', async () => {
    if (!models.isReady) throw new ApiError(503, 'The model is still loading.', null, 'model_loading');
    return { status: 'ok' };
  });
}
