// Scheduler events → text_completion objects, streamed or whole. Choice `index` runs over
// prompts × n, as in the OpenAI API.
import type { FinishReason, GenerationEvent, Usage } from '../../scheduler/types.js';
import type { ResponseMeta } from './chat-response.js';
import { SYSTEM_FINGERPRINT } from './ids.js';
import type { components } from '../openapi-types.js';

type Schemas = components['schemas'];
import { appendCompletionLogprobs, completionLogprobs, type CompletionLogprobs } from './logprobs.js';
import { openAiUsage, type OpenAiUsage } from './usage.js';

type CompletionChoice = Schemas['CompletionChunkChoice'];
export type CompletionObject = Schemas['CompletionChunk'];

export interface CompletionMeta extends ResponseMeta {
  /** Top alternatives asked for (legacy `logprobs` N), undefined for none. */
  topLogprobs: number | undefined;
  /** Per choice: the prompt text to put before the completion (`echo`), else ''. */
  echo: (index: number) => string;
}

/** Tracks each choice's text length so text_offset is right across chunks. */
class ChoiceText {
  private readonly length = new Map<number, number>();
  private readonly echoed = new Set<number>();

  constructor(private readonly meta: CompletionMeta) {}

  /** The text to send for a delta (with the echo first, once) and its logprobs. */
  piece(index: number, text: string, event?: Extract<GenerationEvent, { type: 'delta' }>): { text: string; logprobs: CompletionLogprobs | null } {
    let full = text;
    if (!this.echoed.has(index)) {
      this.echoed.add(index);
      full = this.meta.echo(index) + text;
    }
    const start = this.length.get(index) ?? 0;
    this.length.set(index, start + full.length);
    const logprobs = this.meta.topLogprobs !== undefined
      ? completionLogprobs(this.meta.tokenizer, event?.logprobs ?? [], start + (full.length - text.length), this.meta.topLogprobs > 0)
      : null;
    return { text: full, logprobs };
  }
}

export class CompletionChunker {
  private readonly texts: ChoiceText;

  constructor(
    private readonly meta: CompletionMeta,
    private readonly includeUsage: boolean,
  ) {
    this.texts = new ChoiceText(meta);
  }

  chunks(event: GenerationEvent): CompletionObject[] {
    if (event.type === 'done') return this.includeUsage ? [this.chunk([], openAiUsage(event.usage))] : [];
    if (event.type === 'delta') {
      const { text, logprobs } = this.texts.piece(event.index, event.text, event);
      return [this.chunk([{ index: event.index, text, logprobs, finish_reason: null }])];
    }
    const { text } = this.texts.piece(event.index, '');
    return [this.chunk([{ index: event.index, text, logprobs: null, finish_reason: event.reason }])];
  }

  private chunk(choices: CompletionChoice[], usage: OpenAiUsage | null = null): CompletionObject {
    const { id, created, model } = this.meta;
    const c: CompletionObject = { id, object: 'text_completion', created, model, system_fingerprint: SYSTEM_FINGERPRINT, choices };
    if (this.includeUsage) c.usage = usage;
    return c;
  }
}

export async function collectCompletion(events: AsyncIterable<GenerationEvent>, meta: CompletionMeta, choices: number): Promise<CompletionObject> {
  const texts = new ChoiceText(meta);
  const out: CompletionChoice[] = Array.from({ length: choices }, (_, index) => ({
    index, text: '', logprobs: meta.topLogprobs !== undefined ? completionLogprobs(meta.tokenizer, [], 0, meta.topLogprobs > 0) : null, finish_reason: 'length',
  }));
  let usage: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  for await (const event of events) {
    if (event.type === 'done') {
      usage = event.usage;
      continue;
    }
    const choice = out[event.index];
    const { text, logprobs } = texts.piece(event.index, event.type === 'delta' ? event.text : '', event.type === 'delta' ? event : undefined);
    choice.text += text;
    if (choice.logprobs && logprobs) appendCompletionLogprobs(choice.logprobs, logprobs);
    if (event.type === 'finish') choice.finish_reason = event.reason;
  }
  const { id, created, model } = meta;
  return { id, object: 'text_completion', created, model, system_fingerprint: SYSTEM_FINGERPRINT, choices: out, usage: openAiUsage(usage) };
}
