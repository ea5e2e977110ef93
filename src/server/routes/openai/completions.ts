// POST /v1/completions
import type { FastifyInstance } from 'fastify';
import type { GenerationEvent, RequestLog, Usage } from '../../../scheduler/types.js';
import { completionPrompts, completionRequestSchema } from '../../openai/completion-request.js';
import { collectCompletion, CompletionChunker, type CompletionMeta } from '../../openai/completion-response.js';
import { responseId, unixSeconds } from '../../openai/ids.js';
import { requireModel } from '../../openai/model-lookup.js';
import { generationParams, resolveMaxTokens, type GenerationParams } from '../../openai/sampling.js';
import { addUsage } from '../../openai/usage.js';
import type { ServedModel, ServedModels } from '../../served-models.js';
import { abortOnDisconnect, flatMapChunks, sendSse } from '../../sse.js';

interface PromptRun {
  tokens: number[];
  maxTokens: number;
}

/**
 * Runs the prompts one after another as one stream of events; choice indexes run over
 * prompts × n. The first prompt is queued at once, so a refusal (queue full) is an HTTP error
 * rather than an event in a stream that already started.
 */
function runPrompts(
  served: ServedModel,
  prompts: PromptRun[],
  params: GenerationParams,
  logprobs: number | undefined,
  signal: AbortSignal,
  log: RequestLog,
): AsyncIterable<GenerationEvent> {
  const start = (p: PromptRun) =>
    served.scheduler.generate({ prompt: p.tokens, n: params.n, maxTokens: p.maxTokens, sampling: params.sampling, logprobs, stop: params.stop, signal, log });
  const first = start(prompts[0]);
  return (async function* () {
    let usage: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
    for (let i = 0; i < prompts.length; i++) {
      for await (const event of i === 0 ? first : start(prompts[i])) {
        if (event.type === 'done') usage = addUsage(usage, event.usage);
        else yield { ...event, index: event.index + i * params.n };
      }
    }
    yield { type: 'done', usage };
  })();
}

export function completionRoutes(app: FastifyInstance, models: ServedModels): void {
  app.post('/v1/completions', async (request, reply) => {
    const body = completionRequestSchema.parse(request.body ?? {});
    const served = requireModel(models, body.model);
    const tokenizer = served.model.tokenizer;
    const params = generationParams(body, tokenizer.vocabSize);
    const prompts = completionPrompts(body, tokenizer);
    const runs = prompts.map((p) => ({ tokens: p.tokens, maxTokens: resolveMaxTokens(params.maxTokens, p.tokens.length, served.contextSize) }));
    // Refuse before generating anything if any prompt does not fit.
    for (const r of runs) served.scheduler.checkFits(r.tokens.length, r.maxTokens);
    const events = runPrompts(served, runs, params, body.logprobs, abortOnDisconnect(reply), request.log);
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
