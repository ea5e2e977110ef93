// The rival: node-llama-cpp's batched decoding, in this process. Per concurrency level c, one
// context with c sequences; each sequence runs `rounds` generations of the same prompt token ids
// (greedy, exactly `tokens` tokens: end-of-generation tokens are yielded and fed back rather than
// ending the sequence, since its TokenBias ignores EOG ids); tok/s = all tokens / wall time.
// Measured at each thread count given; the caller reports the better one. A level stops early
// after `maxSeconds` (its tok/s is then the tokens made so far / the time): at 2 threads on a
// busy 2-core machine node-llama-cpp can crawl, and the benchmark must still end.
import { getLlama, LlamaLogLevel, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';

export interface RivalOptions {
  modelPath: string;
  /** The prompt as token ids (BOS included), the same ids the Omni server evaluates. */
  promptTokens: number[];
  tokens: number;
  levels: number[];
  rounds: (c: number) => number;
  threadCounts: number[];
  maxSeconds: number;
  /** Waits once the model is loaded, as the server is left to settle before it is measured. */
  settle: () => Promise<unknown>;
}

export interface RivalFigure {
  c: number;
  threads: number;
  tps: number;
  /** It hit maxSeconds before all rounds were done. */
  capped: boolean;
}

/** Generates `tokens` tokens after the prompt on a cleared sequence (fewer past the deadline). */
async function generateOnce(seq: LlamaContextSequence, prompt: Token[], tokens: number, deadline = Infinity): Promise<number> {
  await seq.clearHistory();
  let n = 0;
  for await (const _ of seq.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
    if (++n >= tokens || performance.now() > deadline) break;
  }
  return n;
}

async function runLevel(model: LlamaModel, options: RivalOptions, c: number, threads: number): Promise<RivalFigure> {
  const prompt = options.promptTokens as Token[];
  const ctx = await model.createContext({
    // Per sequence: node-llama-cpp allocates contextSize × sequences cells in all.
    contextSize: prompt.length + options.tokens + 64,
    sequences: c,
    threads: { ideal: threads, min: threads },
  });
  try {
    const seqs = Array.from({ length: c }, () => ctx.getSequence());
    await generateOnce(seqs[0], prompt, 2); // warm-up: threads started, weights paged in
    const rounds = options.rounds(c);
    const t0 = performance.now();
    const deadline = t0 + options.maxSeconds * 1000;
    const counts = await Promise.all(seqs.map(async (seq) => {
      let n = 0;
      for (let r = 0; r < rounds && performance.now() <= deadline; r++) n += await generateOnce(seq, prompt, options.tokens, deadline);
      return n;
    }));
    const wallS = (performance.now() - t0) / 1000;
    const made = counts.reduce((a, b) => a + b, 0);
    return { c, threads, tps: made / wallS, capped: made < c * rounds * options.tokens };
  } finally {
    await ctx.dispose();
  }
}

/** Every level at every thread count; per level, the better figure. */
export async function runRival(options: RivalOptions, progress: (line: string) => void): Promise<Map<number, RivalFigure>> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never' });
  const model = await llama.loadModel({ modelPath: options.modelPath });
  await options.settle();
  const best = new Map<number, RivalFigure>();
  try {
    for (const threads of options.threadCounts) {
      for (const c of options.levels) {
        const figure = await runLevel(model, options, c, threads);
        progress(`node-llama-cpp c=${c} threads=${threads}: ${figure.tps.toFixed(1)} tok/s${figure.capped ? ` (stopped after ${options.maxSeconds} s)` : ''}`);
        if (figure.tps > (best.get(c)?.tps ?? 0)) best.set(c, figure);
      }
    }
  } finally {
    await model.dispose();
    await llama.dispose();
  }
  return best;
}
