// The sampling fields chat and completions share, and their translation into a scheduler request.
import { z } from 'zod';
import type { SamplingOptions } from '../../engine/native.js';
import { invalidRequest } from '../errors.js';
import { schedulingFields } from './scheduling.js';
import { optional } from './schema-helpers.js';

export const MAX_N = 16;

export const samplingFields = {
  model: z.string().min(1),
  temperature: optional(z.number().min(0).max(2)),
  top_p: optional(z.number().min(0).max(1)),
  top_k: optional(z.number().int().min(0)),
  min_p: optional(z.number().min(0).max(1)),
  presence_penalty: optional(z.number().min(-2).max(2)),
  frequency_penalty: optional(z.number().min(-2).max(2)),
  repetition_penalty: optional(z.number().gt(0)),
  seed: optional(z.number().int()),
  stop: optional(z.union([z.string(), z.array(z.string()).max(16)])),
  max_tokens: optional(z.number().int().min(1)),
  max_completion_tokens: optional(z.number().int().min(1)),
  n: optional(z.number().int().min(1).max(MAX_N)),
  logit_bias: optional(z.record(z.string(), z.number().min(-100).max(100))),
  ...schedulingFields,
  stream: optional(z.boolean()),
  stream_options: optional(z.object({ include_usage: optional(z.boolean()) })),
};

const samplingObject = z.object(samplingFields);
type SamplingBody = z.infer<typeof samplingObject>;

export interface GenerationParams {
  sampling: Omit<SamplingOptions, 'logprobs'>;
  stop: string[];
  n: number;
  /** Undefined: as many as the context leaves. */
  maxTokens: number | undefined;
}

export function generationParams(body: SamplingBody, vocabSize: number): GenerationParams {
  if (body.stream_options !== undefined && body.stream !== true) {
    throw invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', 'invalid_value');
  }
  const logitBias: [number, number][] = [];
  for (const [key, bias] of Object.entries(body.logit_bias ?? {})) {
    const id = Number(key);
    if (!/^\d+$/.test(key) || id >= vocabSize) {
      throw invalidRequest(`Invalid key in 'logit_bias': '${key}' is not a token id of this model (0 to ${vocabSize - 1}).`, 'logit_bias', 'invalid_value');
    }
    logitBias.push([id, bias]);
  }
  const stop = body.stop === undefined ? [] : (Array.isArray(body.stop) ? body.stop : [body.stop]).filter((s) => s !== '');
  return {
    sampling: {
      temperature: body.temperature ?? 1,
      topP: body.top_p ?? 1,
      topK: body.top_k ?? 0,
      minP: body.min_p ?? 0,
      presencePenalty: body.presence_penalty ?? 0,
      frequencyPenalty: body.frequency_penalty ?? 0,
      repetitionPenalty: body.repetition_penalty ?? 1,
      logitBias,
      // The engine's RNG takes an unsigned seed: fold any integer into 0..2^48.
      seed: body.seed === undefined ? undefined : ((body.seed % 2 ** 48) + 2 ** 48) % 2 ** 48,
    },
    stop,
    n: body.n ?? 1,
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
  };
}

/** max_tokens when the client set none: what the context leaves after the prompt. */
export function resolveMaxTokens(requested: number | undefined, promptTokens: number, contextSize: number): number {
  return requested ?? Math.max(1, contextSize - promptTokens);
}
