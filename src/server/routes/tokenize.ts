// POST /tokenize and POST /detokenize, with llama-server's request and response shapes so its
// clients work unchanged. They use the first (or only) model, or the one named by `model`.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireModel } from '../openai/model-lookup.js';
import { checkTokenIds, optional, tokenIds } from '../openai/schema-helpers.js';
import type { ServedModels } from '../served-models.js';

const tokenizeSchema = z.object({
  content: z.string(),
  add_special: optional(z.boolean()),
  parse_special: optional(z.boolean()),
  with_pieces: optional(z.boolean()),
  model: optional(z.string()),
}).passthrough();

const detokenizeSchema = z.object({ tokens: tokenIds, model: optional(z.string()) }).passthrough();

const utf8 = new TextDecoder('utf-8', { fatal: true });

function pieceOf(bytes: Uint8Array): string | number[] {
  try {
    return utf8.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
}

export function tokenizeRoutes(app: FastifyInstance, models: ServedModels): void {
  const pick = (name: string | undefined) => requireModel(models, name ?? models.list()[0]?.id ?? '');

  app.post('/tokenize', async (request) => {
    const body = tokenizeSchema.parse(request.body ?? {});
    const tokenizer = pick(body.model).model.tokenizer;
    const tokens = tokenizer.tokenize(body.content, { addSpecial: body.add_special ?? false, parseSpecial: body.parse_special ?? true });
    if (!body.with_pieces) return { tokens };
    return { tokens: tokens.map((id) => ({ id, piece: pieceOf(tokenizer.tokenToBytes(id, { unparseSpecial: true })) })) };
  });

  app.post('/detokenize', async (request) => {
    const body = detokenizeSchema.parse(request.body ?? {});
    const tokenizer = pick(body.model).model.tokenizer;
    return { content: tokenizer.detokenize(checkTokenIds(body.tokens, tokenizer.vocabSize, 'tokens')) };
  });
}
