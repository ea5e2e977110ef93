// GET /v1/models and GET /v1/models/:model
import type { FastifyInstance } from 'fastify';
import { modelNotFound } from '../../openai/model-lookup.js';
import type { components } from '../../openapi-types.js';
import type { ServedModel, ServedModels } from '../../served-models.js';

type Schemas = components['schemas'];

const describe = (m: ServedModel): Schemas['Model'] => ({ id: m.id, object: 'model', created: m.created, owned_by: 'omni' });

export function modelRoutes(app: FastifyInstance, models: ServedModels): void {
  app.get('/v1/models', async (): Promise<Schemas['ModelList']> => ({ object: 'list', data: models.list().map(describe) }));
  app.get<{ Params: { model: string } }>('/v1/models/:model', async (request) => {
    const served = models.get(request.params.model);
    if (!served) throw modelNotFound(request.params.model, models);
    return describe(served);
  });
}
