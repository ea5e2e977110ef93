// Starts a chat completion from a request body: validates it, renders and tokenizes the prompt,
// and queues it. SSE, plain JSON and WebSocket all start here.
import type { GenerationEvent, RequestLog } from '../../scheduler/types.js';
import type { ServedModels } from '../served-models.js';
import { requireModel } from './model-lookup.js';
import { chatLogprobs, chatPrompt, chatRequestSchema, type ChatRequest } from './chat-request.js';
import type { ResponseMeta } from './chat-response.js';
import { responseId, unixSeconds } from './ids.js';
import { generationParams, resolveMaxTokens } from './sampling.js';
import { schedulingFor } from './scheduling.js';

export interface StartedChat {
  body: ChatRequest;
  events: AsyncIterable<GenerationEvent>;
  meta: ResponseMeta;
  n: number;
}

/** What a route knows about the caller besides the body. */
export interface Caller {
  signal: AbortSignal;
  log: RequestLog;
  apiKey?: string;
}

export function startChat(models: ServedModels, rawBody: unknown, caller: Caller): StartedChat {
  const body = chatRequestSchema.parse(rawBody ?? {});
  const served = requireModel(models, body.model);
  const tokenizer = served.model.tokenizer;
  const params = generationParams(body, tokenizer.vocabSize);
  const logprobs = chatLogprobs(body);
  const prompt = chatPrompt(body, served.template, tokenizer);
  const events = served.scheduler.generate({
    prompt,
    n: params.n,
    maxTokens: resolveMaxTokens(params.maxTokens, prompt.length, served.contextSize),
    sampling: params.sampling,
    logprobs,
    stop: params.stop,
    signal: caller.signal,
    log: caller.log,
    ...schedulingFor(body, caller.apiKey, models.policy),
  });
  const meta: ResponseMeta = { id: responseId('chatcmpl'), model: served.id, created: unixSeconds(), tokenizer, logprobs: logprobs !== undefined };
  return { body, events, meta, n: params.n };
}
