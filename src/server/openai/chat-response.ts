// Scheduler events → chat.completion.chunk objects (streamed over SSE or WebSocket) or one
// chat.completion object.
import type { Tokenizer } from '../../engine/tokenizer/index.js';
import type { FinishReason, GenerationEvent, Usage } from '../../scheduler/types.js';
import { chatLogprobContent, type ChatTokenLogprob } from './logprobs.js';
import { openAiUsage, type OpenAiUsage } from './usage.js';
import { SYSTEM_FINGERPRINT } from './ids.js';
import type { components } from '../openapi-types.js';

type Schemas = components['schemas'];

export interface ResponseMeta {
  id: string;
  model: string;
  created: number;
  tokenizer: Tokenizer;
  logprobs: boolean;
}

export type ChatCompletionChunk = Schemas['ChatCompletionChunk'];
export type ChatCompletion = Schemas['ChatCompletion'];

export class ChatChunker {
  private readonly started = new Set<number>();

  constructor(
    private readonly meta: ResponseMeta,
    private readonly includeUsage: boolean,
  ) {}

  /** The chunks one event turns into (none, one or two). */
  chunks(event: GenerationEvent): ChatCompletionChunk[] {
    const out: ChatCompletionChunk[] = [];
    if (event.type === 'done') {
      if (this.includeUsage) out.push(this.chunk([], openAiUsage(event.usage)));
      return out;
    }
    if (!this.started.has(event.index)) {
      this.started.add(event.index);
      out.push(this.chunk([{ index: event.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
    }
    if (event.type === 'delta') {
      const logprobs = this.meta.logprobs && event.logprobs
        ? { content: chatLogprobContent(this.meta.tokenizer, event.logprobs), refusal: null }
        : null;
      out.push(this.chunk([{ index: event.index, delta: { content: event.text }, logprobs, finish_reason: null }]));
    } else {
      out.push(this.chunk([{ index: event.index, delta: {}, logprobs: null, finish_reason: event.reason }]));
    }
    return out;
  }

  private chunk(choices: ChatCompletionChunk['choices'], usage: OpenAiUsage | null = null): ChatCompletionChunk {
    const { id, created, model } = this.meta;
    const c: ChatCompletionChunk = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: SYSTEM_FINGERPRINT, choices };
    if (this.includeUsage) c.usage = usage;
    return c;
  }
}

/** Reads every event and builds the whole response. */
export async function collectChat(events: AsyncIterable<GenerationEvent>, meta: ResponseMeta, n: number): Promise<ChatCompletion> {
  const choices: ChatCompletion['choices'] = Array.from({ length: n }, (_, index) => ({
    index,
    message: { role: 'assistant', content: '', refusal: null },
    logprobs: meta.logprobs ? { content: [], refusal: null } : null,
    finish_reason: 'length',
  }));
  let usage: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  for await (const event of events) {
    if (event.type === 'delta') {
      const choice = choices[event.index];
      choice.message.content += event.text;
      if (choice.logprobs && event.logprobs) choice.logprobs.content.push(...chatLogprobContent(meta.tokenizer, event.logprobs));
    } else if (event.type === 'finish') {
      choices[event.index].finish_reason = event.reason;
    } else {
      usage = event.usage;
    }
  }
  const { id, created, model } = meta;
  return { id, object: 'chat.completion', created, model, system_fingerprint: SYSTEM_FINGERPRINT, choices, usage: openAiUsage(usage) };
}
