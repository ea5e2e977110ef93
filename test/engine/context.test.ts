// The native context: batching, forks and truncation leave answers unchanged; bad steps are
// refused without changing anything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createContext, loadModel, type NativeContext } from '../../src/engine/native.js';
import { stories260K } from '../helpers/paths.js';

const model = await loadModel(stories260K());
const V = model.info().hparams!.nVocab;
const promptA = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376];
const promptB = [1, 306, 2, 400, 300, 301, 302, 303];

function argmax(xs: Float32Array): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

function assertClose(a: Float32Array, b: Float32Array, tol = 1e-3): void {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst <= tol, `logits differ by ${worst}`);
}

async function greedy(ctx: NativeContext, seq: number, prompt: number[], n: number): Promise<number[]> {
  let [r] = await ctx.step([{ seq, tokens: prompt, pos: ctx.length(seq), sample: true, sampling: { temperature: 0 } }]);
  const out = [r.token!];
  while (out.length < n) {
    [r] = await ctx.step([{ seq, tokens: [out.at(-1)!], pos: ctx.length(seq), sample: true }]);
    out.push(r.token!);
  }
  return out;
}

test('two sequences in one step get the same logits as each alone', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 256 });
  const [alone] = await ctx.step([{ seq: 0, tokens: promptA, pos: 0, logits: 'all' }]);
  const [aloneB] = await ctx.step([{ seq: 1, tokens: promptB, pos: 0, logits: 'all' }]);
  ctx.free(0);
  ctx.free(1);
  const both = await ctx.step([
    { seq: 0, tokens: promptA, pos: 0, logits: 'all' },
    { seq: 1, tokens: promptB, pos: 0, logits: 'all' },
  ]);
  assertClose(both[0].logits!, alone.logits!);
  assertClose(both[1].logits!, aloneB.logits!);
  ctx.dispose();
});

test('prefill in one step equals feeding the tokens one by one', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 256 });
  const [whole] = await ctx.step([{ seq: 0, tokens: promptA, pos: 0, logits: 'all' }]);
  for (let i = 0; i < promptA.length; i++) {
    const [one] = await ctx.step([{ seq: 1, tokens: [promptA[i]], pos: i, logits: 'last' }]);
    assertClose(one.logits!, whole.logits!.subarray(i * V, (i + 1) * V));
  }
  ctx.dispose();
});

test('a long step is split into several forward passes with the same result', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 512, maxBatchTokens: 7 });
  const ref = createContext(model, { threads: 2, kvTokens: 512 });
  const tokens = Array.from({ length: 40 }, (_, i) => 300 + ((i * 37) % 200));
  const [a] = await ctx.step([{ seq: 0, tokens, pos: 0, logits: 'all' }]);
  const [b] = await ref.step([{ seq: 0, tokens, pos: 0, logits: 'all' }]);
  assertClose(a.logits!, b.logits!);
  assert.ok(ctx.stats().steps >= 6, 'the context counts each forward pass');
  ctx.dispose();
  ref.dispose();
});

test('a fork continues exactly like its parent, and truncation rewinds', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 512, kvBlockSize: 4 });
  const expected = await greedy(ctx, 0, promptA, 12);
  ctx.free(0);
  await ctx.step([{ seq: 0, tokens: promptA, pos: 0 }]);
  const freeBefore = ctx.stats().kvBlocksFree;
  ctx.fork(0, 5);
  assert.equal(ctx.stats().kvBlocksFree, freeBefore, 'a fork shares blocks instead of copying');
  assert.equal(ctx.length(5), promptA.length);
  // Both continue from the shared prompt (the last prompt token is re-fed after a rewind).
  ctx.truncate(0, promptA.length - 1);
  ctx.truncate(5, promptA.length - 1);
  assert.deepEqual(await greedy(ctx, 0, [promptA.at(-1)!], 12), expected);
  assert.deepEqual(await greedy(ctx, 5, [promptA.at(-1)!], 12), expected);
  ctx.free(0);
  ctx.free(5);
  assert.equal(ctx.stats().kvBlocksFree, ctx.stats().kvBlocksTotal, 'freeing returns every block');
  ctx.dispose();
});

test('bad steps are refused and change nothing', async () => {
  const ctx = createContext(model, { threads: 1, kvTokens: 32, kvBlockSize: 16 });
  await assert.rejects(ctx.step([{ seq: 0, tokens: [1, V], pos: 0 }]), /token id 512 is outside the vocabulary/);
  await assert.rejects(ctx.step([{ seq: 0, tokens: [1], pos: 3 }]), /continues at position 3 but holds 0/);
  await assert.rejects(ctx.step([{ seq: 0, tokens: [], pos: 0 }]), /has no tokens/);
  await assert.rejects(
    ctx.step([
      { seq: 0, tokens: [1], pos: 0 },
      { seq: 0, tokens: [1], pos: 0 },
    ]),
    /appears twice/,
  );
  assert.throws(() => ctx.step([{ seq: 0, tokens: 'abc' as unknown as number[], pos: 0 }]), /tokens/);
  assert.equal(ctx.stats().kvBlocksFree, 2);
  await ctx.step([{ seq: 0, tokens: promptA, pos: 0 }]);
  await assert.rejects(
    ctx.step([
      { seq: 1, tokens: promptB, pos: 0 },
      { seq: 2, tokens: Array(20).fill(5), pos: 0 },
    ]),
    /KV cache is full/,
  );
  assert.equal(ctx.stats().kvBlocksFree, 1, 'a refused step gives back what it reserved');
  assert.equal(ctx.length(0), promptA.length);
  assert.equal(ctx.length(1), 0);
  ctx.dispose();
  assert.throws(() => ctx.length(0), /disposed/);
});
