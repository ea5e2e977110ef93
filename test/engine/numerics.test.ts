// Omni's logits against llama.cpp's (node-llama-cpp, same file) and against an exact float64
// reference forward pass, for the real stories260K model and a generated model of every
// tensor type; greedy continuations of stories260K against llama.cpp's.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createContext, loadModel } from '../../src/engine/native.js';
import { disposeOracle, oracleGreedy, oracleLogits, oracleModel } from '../helpers/llama-oracle.js';
import { stories260K } from '../helpers/paths.js';
import { ReferenceModel } from '../helpers/reference-forward.js';
import { ALL_TYPES, generatedModel } from '../helpers/test-models.js';

after(disposeOracle);

const STORY_PROMPTS = [
  'Once upon a time, there was a little girl named Lily.',
  'One day, a big dog',
  'Tom and his mom went to the park',
  'The sun was shining and the birds',
  'Sara had a red ball. She',
  'There was a small cat who liked to',
  'Ben wanted to build a tower',
  'In the forest, a little bird',
  'Mia found a shiny stone',
  'The old man smiled and said',
];

const TEXT_PROMPTS = [
  'The quick brown fox jumps over the lazy dog. In 1969, astronauts landed on the Moon.',
  'def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n',
  '<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n',
];

async function omniLogits(file: string, tokens: number[]): Promise<Float32Array[]> {
  const model = await loadModel(file);
  const ctx = createContext(model, { threads: 2, kvTokens: tokens.length + 16 });
  const [r] = await ctx.step([{ seq: 0, tokens, pos: 0, logits: 'all' }]);
  ctx.dispose();
  model.dispose();
  const V = r.logits!.length / tokens.length;
  return tokens.map((_, i) => r.logits!.subarray(i * V, (i + 1) * V));
}

function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

function topMargin(xs: ArrayLike<number>): number {
  let a = -Infinity, b = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] > a) [a, b] = [xs[i], a];
    else if (xs[i] > b) b = xs[i];
  }
  return a - b;
}

function rmsDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let sum = 0, n = 0;
  a.forEach((row, i) => {
    for (let t = 0; t < row.length; t++) sum += (row[t] - b[i][t]) ** 2;
    n += row.length;
  });
  return Math.sqrt(sum / n);
}

test('stories260K: teacher-forced logits agree with llama.cpp at every position', async () => {
  const file = stories260K();
  const om = await oracleModel(file);
  let positions = 0, agree = 0, worst = 0;
  for (const prompt of STORY_PROMPTS) {
    const tokens = [om.tokens.bos!, ...om.tokenize(prompt)];
    const ours = await omniLogits(file, tokens);
    const theirs = await oracleLogits(file, tokens);
    tokens.forEach((_, i) => {
      positions++;
      if (argmax(ours[i]) === argmax(theirs[i])) agree++;
      for (let t = 0; t < ours[i].length; t++) worst = Math.max(worst, Math.abs(ours[i][t] - theirs[i][t]));
    });
  }
  assert.ok(agree / positions >= 0.99, `top-1 agreement ${agree}/${positions}`);
  // F32 weights: both engines compute in float32 and store K/V as float16 (relative error
  // 2^-11); logits of this model range over about ±15, so 0.05 leaves a 3x margin over the
  // 0.0075-0.015 we measure while catching any real mistake (a wrong rope or norm moves
  // logits by whole units).
  assert.ok(worst < 0.05, `max |logit difference| ${worst}`);
});

test('stories260K: greedy 32-token continuations are identical to llama.cpp for 10 prompts', async () => {
  const file = stories260K();
  const om = await oracleModel(file);
  const model = await loadModel(file);
  const ctx = createContext(model, { threads: 2, kvTokens: 256 });
  for (const prompt of STORY_PROMPTS) {
    const tokens = [om.tokens.bos!, ...om.tokenize(prompt)];
    const expected = await oracleGreedy(file, tokens, 32);
    ctx.free(0);
    let [r] = await ctx.step([{ seq: 0, tokens, pos: 0, sample: true, sampling: { temperature: 0 } }]);
    const ours = [r.token!];
    while (ours.length < 32) {
      [r] = await ctx.step([{ seq: 0, tokens: [ours.at(-1)!], pos: tokens.length + ours.length - 1, sample: true }]);
      ours.push(r.token!);
    }
    assert.deepEqual(ours, expected, `continuation of ${JSON.stringify(prompt)}`);
  }
  ctx.dispose();
});

// For the generated models (random weights, so a flat next-token distribution), both engines
// are compared with the exact float64 answer. Quantized types quantize activations to 8 bits
// per matmul in both engines; that rounding moves logits by ~2% of their spread (rms 0.08 at
// std 4), independently in each engine (their float16 KV rounding and summation orders
// differ), so near-tied top tokens flip in both: llama.cpp itself picks the exact answer's
// top-1 only ~90% of the time here. Hence:
// - accuracy: our rms error against the exact logits may exceed llama.cpp's by at most 15%
//   (plus 0.003 for float noise); this is the bound that justifies every type's numerics;
// - top-1: on positions where the exact top-1 leads by more than 4 x the rms noise of the
//   difference of two logits (sqrt(2) x llama.cpp's rms error), we agree with llama.cpp >= 99%.
const GENERATED: [string, string][] = [
  ...ALL_TYPES.map((type): [string, string] => ['tiny', type]),
  ['tiny-qwen2', 'f32'],
  ['tiny-qwen2', 'q8_0'],
  ['tiny-llama3', 'f32'],
  ['tiny-llama3', 'q4_k_m'],
];
for (const [shape, type] of GENERATED) {
  test(`generated ${shape} ${type}: as accurate as llama.cpp, and the same top-1 where the answer is clear`, async () => {
    const file = await generatedModel(shape, type);
    const om = await oracleModel(file);
    const reference = await ReferenceModel.load(file);
    const ours: Float32Array[] = [], theirs: Float32Array[] = [], exact: Float64Array[] = [];
    for (const prompt of TEXT_PROMPTS) {
      const tokens = om.tokenize(prompt, true);
      ours.push(...(await omniLogits(file, tokens)));
      theirs.push(...(await oracleLogits(file, tokens)));
      exact.push(...reference.logits(tokens));
    }
    const ourError = rmsDiff(ours, exact);
    const theirError = rmsDiff(theirs, exact);
    assert.ok(ourError <= theirError * 1.15 + 0.003, `rms error vs exact: omni ${ourError}, llama.cpp ${theirError}`);

    const clear = 4 * Math.SQRT2 * Math.max(theirError, 0.005);
    let decisive = 0, agree = 0;
    exact.forEach((row, i) => {
      if (topMargin(row) <= clear) return;
      decisive++;
      if (argmax(ours[i]) === argmax(theirs[i])) agree++;
    });
    assert.ok(decisive >= exact.length / 3, `only ${decisive} of ${exact.length} positions are decisive`);
    assert.ok(agree / decisive >= 0.99, `top-1 agreement on decisive positions: ${agree}/${decisive}`);
  });
}
