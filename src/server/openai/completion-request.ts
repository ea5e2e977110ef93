// POST /v1/completions: the request schema and the prompts it names.
import { z } from 'zod';
import type { Tokenizer } from '../../engine/tokenizer/index.js';
import { invalidRequest } from '../errors.js';
import { samplingFields } from './sampling.js';
import { checkTokenIds, inputItems, optional, tokenIds } from './schema-helpers.js';

export const completionRequestSchema = z
  .object({
    ...samplingFields,
    prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds.min(1), z.array(tokenIds.min(1)).min(1)]),
    echo: optional(z.boolean()),
    suffix: optional(z.string()),
    logprobs: optional(z.number().int().min(0).max(5)),
    best_of: optional(z.number().int().min(1)),
  })
  .passthrough();

export type CompletionRequest = z.infer<typeof completionRequestSchema>;

export interface CompletionPrompt {
  tokens: number[];
  /** The prompt as text, for `echo`. */
  text: string;
}

/** Each prompt's tokens: text gets BOS as the vocabulary asks; token ids are taken as given. */
export function completionPrompts(body: CompletionRequest, tokenizer: Tokenizer): CompletionPrompt[] {
  if (body.suffix) throw invalidRequest("'suffix' (fill-in-the-middle) is not supported by this server.", 'suffix', 'unsupported_parameter');
  if (body.best_of !== undefined && body.best_of !== (body.n ?? 1)) {
    throw invalidRequest("'best_of' is not supported; use 'n'.", 'best_of', 'unsupported_parameter');
  }
  if (body.echo && body.logprobs !== undefined) {
    throw invalidRequest("'echo' together with 'logprobs' (prompt logprobs) is not supported.", 'echo', 'unsupported_parameter');
  }
  return inputItems(body.prompt, 'prompt').map(({ item, param }) => {
    if (typeof item !== 'string') return { tokens: checkTokenIds(item, tokenizer.vocabSize, param), text: tokenizer.detokenize(item) };
    const tokens = tokenizer.tokenize(item, { addSpecial: true, parseSpecial: true });
    if (tokens.length === 0) throw invalidRequest('The prompt is empty.', param, 'invalid_value');
    return { tokens, text: item };
  });
}
