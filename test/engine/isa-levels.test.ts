// Every kernel level this CPU can run (OMNI_ISA=scalar|avx2|avx512) gives the same answers.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { cpuInfo, createContext, loadModel } from '../../src/engine/native.js';
import { stories260K } from '../helpers/paths.js';
import { generatedModel } from '../helpers/test-models.js';

const LEVELS = ['scalar', 'avx2', 'avx512'];
const best = cpuInfo().best;
const available = LEVELS.slice(0, LEVELS.indexOf(best) + 1);
const tokens = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 300, 301, 302, 303];

afterEach(() => {
  delete process.env.OMNI_ISA;
});

/** Logits at every position: all but the last token in one prefill, then the last decoded alone. */
async function logitsAt(file: string, isa: string): Promise<Float32Array[]> {
  process.env.OMNI_ISA = isa;
  const model = await loadModel(file);
  const ctx = createContext(model, { threads: 2, kvTokens: 64 });
  assert.match(ctx.stats().backend, new RegExp(`cpu ${isa},`));
  const [prefill] = await ctx.step([{ seq: 0, tokens: tokens.slice(0, -1), pos: 0, logits: 'all' }]);
  const [last] = await ctx.step([{ seq: 0, tokens: tokens.slice(-1), pos: tokens.length - 1, logits: 'last' }]);
  ctx.dispose();
  model.dispose();
  const V = last.logits!.length;
  return [...tokens.slice(0, -1).map((_, i) => prefill.logits!.subarray(i * V, (i + 1) * V)), last.logits!];
}

function compare(a: Float32Array[], b: Float32Array[]) {
  let worst = 0, sq = 0, n = 0, spread = 0, clear = 0, agree = 0;
  a.forEach((row, i) => {
    let mean = 0;
    for (const v of row) mean += v / row.length;
    let best = 0, second = -Infinity, bestB = 0;
    for (let t = 0; t < row.length; t++) {
      const d = row[t] - b[i][t];
      worst = Math.max(worst, Math.abs(d));
      sq += d * d;
      spread += (row[t] - mean) ** 2;
      n++;
      if (b[i][t] > b[i][bestB]) bestB = t;
      if (row[t] > row[best]) [second, best] = [row[best], t];
      else if (row[t] > second) second = row[t];
    }
    if (row[best] - second > 0.5) {
      clear++;
      if (best === bestB) agree++;
    }
  });
  return { worst, relRms: Math.sqrt(sq / spread), clear, agree };
}

test('this CPU runs at least the scalar and AVX2 levels', () => {
  assert.ok(available.length >= 2, `best level is ${best}`);
});

const FLOAT_MODELS = [
  ['stories260K f32', async () => stories260K()],
  ['tiny f16', () => generatedModel('tiny', 'f16')],
  ['tiny bf16', () => generatedModel('tiny', 'bf16')],
] as const;
const QUANTIZED_MODELS = ['q8_0', 'q4_0', 'q5_1', 'q4_k_m', 'q5_k_m', 'q6_k'].map((t) => [`tiny ${t}`, () => generatedModel('tiny', t)] as const);

// Float weights: every level computes the same float operations, only in a different
// summation order (and FMA contraction); these random models amplify that to at most ~2e-3
// of logits spread over ±12. A max of 1e-2 and an rms of 1e-3 leave room and still catch any
// real slip (a wrong kernel moves logits by whole units).
for (const [name, file] of FLOAT_MODELS) {
  test(`${name}: the same logits at ${available.join(', ')}`, async () => {
    const path = await file();
    const base = await logitsAt(path, 'scalar');
    for (const isa of available.slice(1)) {
      const { worst, relRms } = compare(base, await logitsAt(path, isa));
      assert.ok(worst < 1e-2, `${isa} differs from scalar by ${worst}`);
      assert.ok(relRms < 1e-3, `${isa} differs from scalar by ${relRms} of the logit spread (rms)`);
    }
  });
}

// Quantized weights: the integer dot products are exact at every level, but activations are
// re-quantized to 8 bits before each matmul, and a float difference of 1e-7 in a norm can move
// an activation across a rounding boundary; in these random-weight models that moves logits by
// ~1% of their spread (the same size as the difference between llama.cpp and us). So: the rms
// difference stays under 3% of the logits' spread and the top token is the same wherever it
// leads by more than half a logit. A wrong kernel would be off by far more than 3%.
for (const [name, file] of QUANTIZED_MODELS) {
  test(`${name}: the same answers at ${available.join(', ')}`, async () => {
    const path = await file();
    const base = await logitsAt(path, 'scalar');
    for (const isa of available.slice(1)) {
      const { relRms, clear, agree } = compare(base, await logitsAt(path, isa));
      assert.ok(relRms < 0.03, `${isa} differs from scalar by ${(relRms * 100).toFixed(2)}% rms of the logit spread`);
      assert.ok(clear >= tokens.length / 3, `only ${clear} clear positions`);
      assert.equal(agree, clear, `${isa}: top-1 differs at ${clear - agree} clear positions`);
    }
  });
}

test('forcing an unknown level is a clear error', async () => {
  process.env.OMNI_ISA = 'avx9000';
  const model = await loadModel(stories260K());
  assert.throws(() => createContext(model), /OMNI_ISA/);
  model.dispose();
});
