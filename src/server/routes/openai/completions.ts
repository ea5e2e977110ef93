// POST /v1/completions
import type { FastifyInstance } from 'fastify';
import type { GenerationEvent, Usage } from '../../../scheduler/types.js';
import { invalidRequest } from '../../errors.js';
import { completionPrompts, completionRequestSchema } from '../../openai/completion-request.js';
import { collectCompletion, CompletionChunker, type CompletionMeta } from '../../openai/completion-response.js';
import { responseId, unixSeconds } from '../../openai/ids.js';
import { requireModel } from '../../openai/model-lookup.js';
import { generationParams, resolveMaxTokens, type GenerationParams } from '../../openai/sampling.js';
import { addUsage } from '../../openai/usage.js';
import type { ServedModel, ServedModels } from '../../served-models.js';
import { abortOnDisconnect, flatMapChunks, sendSse } from '../../sse.js';
import type { RequestLog } from '../../../scheduler/types.js';

/** Runs the prompts one after another as one stream of events; choice indexes run over prompts × n. */
async function* runPrompts(
  served: ServedModel,
  prompts: number[][],
  params: GenerationParams,
  logprobs: number | undefined,
  signal: AbortSignal,
  log: RequestLog,
): AsyncGenerator<GenerationEvent> {
  // Check every prompt against the context before generating anything.
  const maxTokens = prompts.map((p) => resolveMaxTokens(params.maxTokens, p.length, served.contextSize));
  let usage: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  const start = (i: number) =>
    served.scheduler.generate({ prompt: prompts[i], n: params.n, maxTokens: maxTokens[i], sampling: params.sampling, logprobs, stop: params.stop, signal, log });
  let next = start(0);
  for (let i = 0; i < prompts.length; i++) {
    for await (const event of next) {
      if (event.type === 'done') usage = addUsage(usage, event.usage);
      else yield { ...event, index: event.index + i * params.n };
    }
    if (i + 1 < prompts.length) next = start(i + 1);
  }
  yield { type: 'done', usage };
}

export function completionRoutes(app: FastifyInstance, models: ServedModels): void {
  app.post('/v1/completions', async (request, reply) => {
    const body = completionRequestSchema.parse(request.body ?? {});
    const served = requireModel(models, body.model);
    const tokenizer = served.model.tokenizer;
    const params = generationParams(body, tokenizer.vocabSize);
    const prompts = completionPrompts(body, tokenizer);
    if (body.echo && body.logprobs !== undefined) {
      throw invalidRequest("'echo' together with 'logprobs' (prompt logprobs) is not supported.", 'echo', 'unsupported_parameter');
    }
    // Refuse before generating anything if any prompt does not fit.
    for (const p of prompts) served.scheduler.checkFits(p.tokens.length, resolveMaxTokens(params.maxTokens, p.tokens.length, served.contextSize));
    const signal = abortOnDisconnect(request, reply);
    const events = runPrompts(served, prompts.map((p) => p.tokens), params, body.logprobs, signal, request.log);
    const meta: CompletionMeta = {
      id: responseId('cmpl'), model: served.id, created: unixSeconds(), tokenizer,
      logprobs: body.logprobs !== undefined,
      topLogprobs: body.logprobs,
      echo: (index) => (body.echo ? prompts[Math.floor(index / params.n)].text : ''),
    };
    if (body.stream) {
      const chunker = new CompletionChunker(meta, body.stream_options?.include_usage ?? false);
      return sendSse(request, reply, flatMapChunks(events, (e) => chunker.chunks(e)));
    }
    return collectCompletion(events, meta, prompts.length * params.n);
  });
}
