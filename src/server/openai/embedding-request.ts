// POST /v1/embeddings: the request schema and the token lists it names.
import { z } from 'zod';
import type { Tokenizer } from '../../engine/tokenizer/index.js';
import { invalidRequest } from '../errors.js';
import { schedulingFields } from './scheduling.js';
import { checkTokenIds, inputItems, optional, tokenIds } from './schema-helpers.js';

export const MAX_EMBEDDING_INPUTS = 2048;

export const embeddingRequestSchema = z
  .object({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(z.string()).min(1).max(MAX_EMBEDDING_INPUTS), tokenIds.min(1), z.array(tokenIds.min(1)).min(1).max(MAX_EMBEDDING_INPUTS)]),
    encoding_format: optional(z.enum(['float', 'base64'])),
    dimensions: optional(z.number().int().min(1)),
    ...schedulingFields,
  })
  .passthrough();

export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

export function embeddingInputs(body: EmbeddingRequest, tokenizer: Tokenizer, width: number): number[][] {
  if (body.dimensions !== undefined && body.dimensions !== width) {
    throw invalidRequest(`This model's embeddings have ${width} dimensions and cannot be shortened; leave 'dimensions' out or set it to ${width}.`, 'dimensions', 'unsupported_value');
  }
  return inputItems(body.input, 'input').map(({ item, param }) => {
    if (typeof item !== 'string') return checkTokenIds(item, tokenizer.vocabSize, param);
    if (item === '') throw invalidRequest('An input is an empty string; embeddings need some text.', param, 'invalid_value');
    return tokenizer.tokenize(item, { addSpecial: true, parseSpecial: false });
  });
}

/** OpenAI's base64 form: the float32 values' little-endian bytes. */
export function encodeEmbedding(v: Float32Array, format: 'float' | 'base64'): number[] | string {
  if (format === 'float') return Array.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}
