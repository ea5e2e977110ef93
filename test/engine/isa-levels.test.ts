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

async function logitsAt(file: string, isa: string): Promise<Float32Array> {
  process.env.OMNI_ISA = isa;
  const model = await loadModel(file);
  const ctx = createContext(model, { threads: 2, kvTokens: 64 });
  assert.match(ctx.stats().backend, new RegExp(`cpu ${isa},`));
  // Prefill all but the last token, then decode the last: both matmul shapes are exercised.
  await ctx.step([{ seq: 0, tokens: tokens.slice(0, -1), pos: 0 }]);
  const [r] = await ctx.step([{ seq: 0, tokens: tokens.slice(-1), pos: tokens.length - 1, logits: 'last' }]);
  ctx.dispose();
  model.dispose();
  return r.logits!;
}

test('this CPU runs at least the scalar and AVX2 levels', () => {
  assert.ok(available.length >= 2, `best level is ${best}`);
});

for (const [name, file] of [
  ['stories260K f32', async () => stories260K()],
  ['tiny f16', () => generatedModel('tiny', 'f16')],
  ['tiny bf16', () => generatedModel('tiny', 'bf16')],
  ['tiny q8_0', () => generatedModel('tiny', 'q8_0')],
  ['tiny q4_0', () => generatedModel('tiny', 'q4_0')],
  ['tiny q5_1', () => generatedModel('tiny', 'q5_1')],
  ['tiny q4_k_m', () => generatedModel('tiny', 'q4_k_m')],
  ['tiny q5_k_m', () => generatedModel('tiny', 'q5_k_m')],
  ['tiny q6_k', () => generatedModel('tiny', 'q6_k')],
] as const) {
  test(`${name}: the same logits at ${available.join(', ')}`, async () => {
    const path = await file();
    const base = await logitsAt(path, 'scalar');
    for (const isa of available.slice(1)) {
      const other = await logitsAt(path, isa);
      let worst = 0;
      for (let i = 0; i < base.length; i++) worst = Math.max(worst, Math.abs(base[i] - other[i]));
      // Integer dot products are exact at every level; only float summation order differs
      // (float weights, norms, attention), which moves logits by ~1e-5 here.
      assert.ok(worst < 2e-3, `${isa} differs from scalar by ${worst}`);
    }
  });
}

test('forcing an unknown level is a clear error', async () => {
  process.env.OMNI_ISA = 'avx9000';
  const model = await loadModel(stories260K());
  assert.throws(() => createContext(model), /OMNI_ISA/);
  model.dispose();
});
