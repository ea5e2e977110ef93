// Single-sequence generation straight on a native context: prompt in, tokens and text
// deltas out. The CLI and the engine benchmark use it; the server goes through the scheduler.
import { Detokenizer } from './detokenizer.js';
import type { LoadedModel } from './loaded-model.js';
import type { NativeContext, SamplingOptions } from './native.js';

export interface GenerateOptions {
  maxTokens: number;
  sampling: SamplingOptions;
  /** Stop at the model's end-of-generation tokens (default true). */
  stopAtEog?: boolean;
  seq?: number;
}

export interface GeneratedToken {
  /** null for the final piece of text the detokenizer held back (an unfinished character). */
  token: number | null;
  text: string;
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  promptMs: number;
  generateMs: number;
  finishReason: 'stop' | 'length';
}

export async function* generate(
  model: LoadedModel,
  ctx: NativeContext,
  prompt: number[],
  options: GenerateOptions,
  stats?: GenerationStats,
): AsyncGenerator<GeneratedToken> {
  const seq = options.seq ?? 0;
  const eog = new Set(model.tokenizer.endOfGenerationIds);
  // The prompt came before: keep the first piece's leading space, as llama.cpp's server does.
  const detok = new Detokenizer(model.tokenizer, { stripLeadingSpace: false, cleanSpaces: false });
  const s: GenerationStats = stats ?? ({} as GenerationStats);
  Object.assign(s, { promptTokens: prompt.length, generatedTokens: 0, promptMs: 0, generateMs: 0, finishReason: 'length' });
  ctx.free(seq);

  let t0 = performance.now();
  let [result] = await ctx.step([{ seq, tokens: prompt, pos: 0, sample: true, sampling: options.sampling }]);
  s.promptMs = performance.now() - t0;
  t0 = performance.now();
  let pos = prompt.length;
  try {
    for (let i = 0; i < options.maxTokens; i++) {
      const token = result.token!;
      if (options.stopAtEog !== false && eog.has(token)) {
        s.finishReason = 'stop';
        break;
      }
      s.generatedTokens++;
      yield { token, text: detok.push(token) };
      if (i + 1 === options.maxTokens) break;
      [result] = await ctx.step([{ seq, tokens: [token], pos, sample: true }]);
      pos++;
    }
    const rest = detok.flush();
    if (rest) yield { token: null, text: rest };
  } finally {
    s.generateMs = performance.now() - t0;
    ctx.free(seq);
  }
}
