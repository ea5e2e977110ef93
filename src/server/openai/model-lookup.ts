import { ApiError } from '../errors.js';
import type { ServedModel, ServedModels } from '../served-models.js';

/** OpenAI's answer for a model id it does not know. */
export function modelNotFound(id: string, models: ServedModels): ApiError {
  const available = models.list().map((m) => m.id).join(', ');
  return new ApiError(404, `The model '${id}' does not exist. Available: ${available}.`, 'model', 'model_not_found', 'invalid_request_error');
}

/** The served model a request names, or the error OpenAI gives for an unknown one. */
export function requireModel(models: ServedModels, id: string): ServedModel {
  if (!models.isReady) throw new ApiError(503, 'The model is still loading; retry shortly.', null, 'model_loading');
  const served = models.get(id);
  if (!served) throw modelNotFound(id, models);
  return served;
}
