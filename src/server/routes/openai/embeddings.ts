// POST /v1/embeddings
import type { FastifyInstance } from 'fastify';
import { poolEmbedding } from '../../../engine/embeddings.js';
import { embeddingInputs, embeddingRequestSchema, encodeEmbedding } from '../../openai/embedding-request.js';
import { requireModel } from '../../openai/model-lookup.js';
import { schedulingFor } from '../../openai/scheduling.js';
import type { components } from '../../openapi-types.js';
import type { ServedModels } from '../../served-models.js';
import { abortOnDisconnect } from '../../sse.js';

export function embeddingRoutes(app: FastifyInstance, models: ServedModels): void {
  app.post('/v1/embeddings', async (request, reply): Promise<components['schemas']['EmbeddingList']> => {
    const body = embeddingRequestSchema.parse(request.body ?? {});
    const served = requireModel(models, body.model);
    const width = served.model.hparams.nEmbd;
    const inputs = embeddingInputs(body, served.model.tokenizer, width);
    const hidden = await served.scheduler.embed({
      inputs, signal: abortOnDisconnect(reply), log: request.log, ...schedulingFor(body, request.apiKey, models.policy),
    });
    const format = body.encoding_format ?? 'float';
    const promptTokens = inputs.reduce((sum, t) => sum + t.length, 0);
    return {
      object: 'list',
      data: hidden.map((h, index) => ({ object: 'embedding', index, embedding: encodeEmbedding(poolEmbedding(h, width, served.pooling), format) })),
      model: served.id,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
  });
}
