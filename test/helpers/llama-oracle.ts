// node-llama-cpp as the oracle: the same GGUF file evaluated by llama.cpp, for comparing
// token ids, logits and greedy continuations with ours.
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;
const models = new Map<string, Promise<LlamaModel>>();

export function oracle(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never' });
  return llama;
}

export async function oracleModel(modelPath: string, vocabOnly = false): Promise<LlamaModel> {
  const key = `${modelPath}:${vocabOnly}`;
  if (!models.has(key)) models.set(key, oracle().then((l) => l.loadModel({ modelPath, vocabOnly })));
  return models.get(key)!;
}

export async function disposeOracle(): Promise<void> {
  for (const m of models.values()) await (await m).dispose();
  models.clear();
}

/** Raw logits after each token of `tokens` (teacher forcing), one dense array per position. */
export async function oracleLogits(modelPath: string, tokens: number[], threads = 2): Promise<Float32Array[]> {
  const model = await oracleModel(modelPath);
  const ctx = await model.createContext({ contextSize: Math.max(256, tokens.length + 16), threads });
  try {
    const seq = ctx.getSequence();
    const items = tokens.map((t) => [t, { generateNext: { logits: true } }] as [number, { generateNext: { logits: true } }]);
    const out = await seq.controlledEvaluate(items);
    return out.map((o) => {
      const map = o?.next?.logits;
      if (!map) throw new Error('node-llama-cpp returned no logits');
      const dense = new Float32Array(map.size);
      for (const [token, logit] of map) dense[token] = logit;
      return dense;
    });
  } finally {
    await ctx.dispose();
  }
}

/** Greedy continuation of `prompt` (token ids) for `n` tokens. */
export async function oracleGreedy(modelPath: string, prompt: number[], n: number, threads = 2): Promise<number[]> {
  const model = await oracleModel(modelPath);
  const ctx = await model.createContext({ contextSize: Math.max(256, prompt.length + n + 16), threads });
  try {
    const seq = ctx.getSequence();
    const out: number[] = [];
    for await (const token of seq.evaluate(prompt, { temperature: 0 })) {
      out.push(token);
      if (out.length >= n) break;
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}
