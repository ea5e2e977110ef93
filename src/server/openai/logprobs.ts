// Token logprobs in the two shapes the OpenAI API uses: chat's `content` list and the legacy
// completions' parallel arrays.
import type { Tokenizer } from '../../engine/tokenizer/index.js';
import type { TokenLogprobs } from '../../scheduler/types.js';
import type { components } from '../openapi-types.js';

type Schemas = components['schemas'];

const decoder = new TextDecoder('utf-8', { fatal: false });

function piece(tokenizer: Tokenizer, id: number): { text: string; bytes: number[] } {
  const bytes = tokenizer.tokenToBytes(id);
  return { text: decoder.decode(bytes), bytes: Array.from(bytes) };
}

export type ChatTokenLogprob = Schemas['ChatTokenLogprob'];

export function chatLogprobContent(tokenizer: Tokenizer, tokens: TokenLogprobs[]): ChatTokenLogprob[] {
  return tokens.map((t) => {
    const p = piece(tokenizer, t.id);
    return {
      token: p.text,
      logprob: t.logprob,
      bytes: p.bytes,
      top_logprobs: t.top.map((alt) => {
        const q = piece(tokenizer, alt.id);
        return { token: q.text, logprob: alt.logprob, bytes: q.bytes };
      }),
    };
  });
}

export type CompletionLogprobs = Schemas['CompletionLogprobs'];

/** `offset`: where the first token's text starts in the choice's text so far. */
export function completionLogprobs(tokenizer: Tokenizer, tokens: TokenLogprobs[], offset: number, withTop: boolean): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: withTop ? [] : null, text_offset: [] };
  let at = offset;
  for (const t of tokens) {
    const text = piece(tokenizer, t.id).text;
    out.tokens.push(text);
    out.token_logprobs.push(t.logprob);
    out.text_offset.push(at);
    at += text.length;
    if (out.top_logprobs) out.top_logprobs.push(Object.fromEntries(t.top.map((alt) => [piece(tokenizer, alt.id).text, alt.logprob])));
  }
  return out;
}

export function appendCompletionLogprobs(into: CompletionLogprobs, more: CompletionLogprobs): void {
  into.tokens.push(...more.tokens);
  into.token_logprobs.push(...more.token_logprobs);
  into.text_offset.push(...more.text_offset);
  if (into.top_logprobs && more.top_logprobs) into.top_logprobs.push(...more.top_logprobs);
}
