import { ApiError } from '../errors.js';
import type { ServedModel, ServedModels } from '../served-models.js';

/** The served model a request names, or the error OpenAI gives for an unknown one. */
export function requireModel(models: ServedModels, id: string): ServedModel {
  if (!models.isReady) throw new ApiError(503, 'The model is still loading; retry shortly.', null, 'model_loading');
  const served = models.get(id);
  if (!served) {
    throw new ApiError(404, `The model '${id}' does not exist. Available: ${models.list().map((m) => m.id).join(', ')}.`, 'model', 'model_not_found', 'invalid_request_error');
  }
  return served;
}
