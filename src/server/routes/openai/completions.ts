// POST /v1/completions
import type { FastifyInstance } from 'fastify';
import { Channel } from '../../../scheduler/channel.js';
import { CancelledError } from '../../../scheduler/errors.js';
import type { GenerationEvent, Usage } from '../../../scheduler/types.js';
import type { Caller } from '../../openai/chat-run.js';
import { completionPrompts, completionRequestSchema } from '../../openai/completion-request.js';
import { collectCompletion, CompletionChunker, type CompletionMeta } from '../../openai/completion-response.js';
import { responseId, unixSeconds } from '../../openai/ids.js';
import { requireModel } from '../../openai/model-lookup.js';
import { generationParams, resolveMaxTokens, type GenerationParams } from '../../openai/sampling.js';
import { schedulingFor, type Scheduling } from '../../openai/scheduling.js';
import { addUsage } from '../../openai/usage.js';
import type { ServedModel, ServedModels } from '../../served-models.js';
import { abortOnDisconnect, sendSse } from '../../sse.js';

interface PromptRun {
  tokens: number[];
  maxTokens: number;
}

/**
 * Runs every prompt at once (the scheduler batches them) as one stream of events; choice
 * indexes run over prompts × n. All prompts are queued before answering, so a refusal (queue
 * full) is an HTTP error rather than an event in a stream that already started.
 */
function runPrompts(
  served: ServedModel,
  prompts: PromptRun[],
  params: GenerationParams,
  logprobs: number | undefined,
  caller: Caller,
  scheduling: Scheduling,
): AsyncIterable<GenerationEvent> {
  const stop = new AbortController();
  const signal = AbortSignal.any([caller.signal, stop.signal]);
  const streams: AsyncIterable<GenerationEvent>[] = [];
  try {
    for (const p of prompts) {
      streams.push(served.scheduler.generate({
        prompt: p.tokens, n: params.n, maxTokens: p.maxTokens, sampling: params.sampling, logprobs, stop: params.stop,
        signal, log: caller.log, ...scheduling,
      }));
    }
  } catch (err) {
    stop.abort(new CancelledError('another prompt of the request was refused'));
    throw err;
  }
  // One prompt (the usual case): its own stream already has the right indexes and usage.
  if (streams.length === 1) return streams[0];
  const merged = new Channel<GenerationEvent>();
  merged.onConsumerGone(() => stop.abort(new CancelledError('the client stopped reading')));
  let usage: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  const pumps = streams.map(async (events, i) => {
    for await (const event of events) {
      if (event.type === 'done') usage = addUsage(usage, event.usage);
      else merged.push({ ...event, index: event.index + i * params.n });
    }
  });
  Promise.all(pumps).then(
    () => {
      merged.push({ type: 'done', usage });
      merged.end();
    },
    (err) => {
      stop.abort(err);
      merged.fail(err);
    },
  );
  return merged;
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
    const caller = { signal: abortOnDisconnect(reply), log: request.log };
    const events = runPrompts(served, runs, params, body.logprobs, caller, schedulingFor(body, request.apiKey, models.policy));
    const meta: CompletionMeta = {
      id: responseId('cmpl'), model: served.id, created: unixSeconds(), tokenizer,
      logprobs: body.logprobs !== undefined,
      topLogprobs: body.logprobs,
      echo: (index) => (body.echo ? prompts[Math.floor(index / params.n)].text : ''),
    };
    if (body.stream) {
      const chunker = new CompletionChunker(meta, body.stream_options?.include_usage ?? false);
      return sendSse(request, reply, events, (e) => chunker.chunks(e));
    }
    return collectCompletion(events, meta, prompts.length * params.n);
  });
}
