// The native context: batching, forks and truncation leave answers unchanged; bad steps are
// refused without changing anything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createContext, loadModel, type NativeContext, type StepEntry } from '../../src/engine/native.js';
import { stories260K } from '../helpers/paths.js';
import { generatedModel } from '../helpers/test-models.js';

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

/**
 * Feeds `tokens` from the sequence's current length (the first `promptTokens` of them as
 * prompt tokens, the engine's default when not given) and decodes until `n` tokens were sampled.
 */
async function decode(
  ctx: NativeContext,
  seq: number,
  tokens: number[],
  n: number,
  sampling?: StepEntry['sampling'],
  promptTokens?: number,
): Promise<number[]> {
  let [r] = await ctx.step([{ seq, tokens, pos: ctx.length(seq), sample: true, sampling, promptTokens }]);
  const out = [r.token!];
  while (out.length < n) {
    [r] = await ctx.step([{ seq, tokens: [out.at(-1)!], pos: ctx.length(seq), sample: true }]);
    out.push(r.token!);
  }
  return out;
}

const greedy = (ctx: NativeContext, seq: number, prompt: number[], n: number) => decode(ctx, seq, prompt, n, { temperature: 0 });

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

/** Asserts that two logit arrays are the same, bit for bit. */
function assertIdentical(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}: logit ${i % V} of row ${Math.floor(i / V)} is ${a[i]}, not ${b[i]}`);
  }
}

test('a prompt gets the same numbers, bit for bit, however it is split into steps or taken from the cache', async () => {
  const block = 16;
  const prompt = [1, ...Array.from({ length: 3 * block - 1 }, (_, i) => 260 + ((i * 37) % 240))]; // whole blocks: all cached
  const ctx = createContext(model, { threads: 2, kvTokens: 1024, kvBlockSize: block });
  const [cold] = await ctx.step([{ seq: 0, tokens: prompt, pos: 0, logits: 'all' }]);

  // Chunks of 1, 2, 3, ... prompt tokens, each step beside another sequence fed the decode way.
  for (let pos = 0, size = 1; pos < prompt.length; pos += size, size++) {
    const chunk = prompt.slice(pos, pos + size);
    const [r] = await ctx.step([
      { seq: 1, tokens: chunk, pos, logits: 'all', promptTokens: chunk.length },
      { seq: 2, tokens: [promptB[pos % promptB.length]], pos: ctx.length(2), promptTokens: 0 },
    ]);
    assertIdentical(r.logits!, cold.logits!.subarray(pos * V, (pos + chunk.length) * V), `the chunk at ${pos}`);
  }

  // All but the last token from the cache; the last one fed alone.
  ctx.free(0);
  ctx.free(1);
  const from = ctx.reusePrefix(3, prompt);
  assert.equal(from, prompt.length - 1);
  const [warm] = await ctx.step([{ seq: 3, tokens: prompt.slice(from), pos: from, logits: 'last', promptTokens: 1 }]);
  assertIdentical(warm.logits!, cold.logits!.subarray(from * V), 'after reusePrefix');
  ctx.dispose();
});

test('generated tokens fed again the decode way (after preemption) reproduce their logits bit for bit', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 1024 });
  let [r] = await ctx.step([{ seq: 0, tokens: promptA, pos: 0, sample: true, sampling: { temperature: 0 } }]);
  const generated: number[] = [];
  const seen: Float32Array[] = [];
  for (let i = 0; i < 20; i++) {
    generated.push(r.token!);
    [r] = await ctx.step([{ seq: 0, tokens: [r.token!], pos: ctx.length(0), sample: true, logits: 'last' }]);
    seen.push(r.logits!);
  }
  ctx.evict(0);
  const all = [...promptA, ...generated];
  const [again] = await ctx.step([{ seq: 0, tokens: all, pos: 0, logits: 'all', promptTokens: promptA.length }]);
  seen.forEach((logits, i) => {
    const row = promptA.length + i;
    assertIdentical(again.logits!.subarray(row * V, (row + 1) * V), logits, `generated token ${i}, recomputed`);
  });
  ctx.dispose();
});

test('a generated token gets the same numbers whether its blocks follow one another in the pool or lie apart', async () => {
  // Decode attention reads blocks that follow one another block by block, all heads at once,
  // and scattered blocks head by head (a head size of 64 here, as in real models).
  const tiny = await loadModel(await generatedModel('tiny', 'f32'));
  const ctx = createContext(tiny, { threads: 2, kvTokens: 1024, prefixCache: false });
  const prompt = Array.from({ length: 150 }, (_, i) => 1000 + ((i * 37) % 5000));
  const next = 4242;
  // Sequence 0 takes its ten blocks in one step: one after another.
  await ctx.step([{ seq: 0, tokens: prompt, pos: 0 }]);
  const [together] = await ctx.step([{ seq: 0, tokens: [next], pos: prompt.length, logits: 'last' }]);
  // Sequence 1 gets the same prompt a block at a time, each followed by a block of sequence 2.
  for (let pos = 0; pos < prompt.length; pos += 16) {
    await ctx.step([{ seq: 1, tokens: prompt.slice(pos, pos + 16), pos }]);
    await ctx.step([{ seq: 2, tokens: prompt.slice(0, 16), pos }]);
  }
  const [apart] = await ctx.step([{ seq: 1, tokens: [next], pos: prompt.length, logits: 'last' }]);
  assertIdentical(apart.logits!, together.logits!, 'the token after scattered blocks');
  ctx.dispose();
  tiny.dispose();
});

test('a fork continues exactly like its parent, and truncation rewinds', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 512, kvBlockSize: 4 });
  const expected = await greedy(ctx, 0, promptA, 12);
  ctx.free(0);
  await ctx.step([{ seq: 0, tokens: promptA, pos: 0 }]);
  const freeBefore = ctx.stats().kvBlocksFree;
  assert.ok(freeBefore < ctx.stats().kvBlocksTotal);
  assert.equal(ctx.kvBlocksFree(), freeBefore, 'the lean getter reads the same count');
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
  assert.equal(ctx.kvBlocksFree(), ctx.stats().kvBlocksTotal);
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
  for (const promptTokens of [3, -2]) {
    assert.throws(() => ctx.step([{ seq: 0, tokens: [1, 2], pos: 0, promptTokens }]), /'promptTokens' must be between 0 and the number of its tokens/);
  }
  assert.throws(() => ctx.step([{ seq: 0, tokens: [1, 2], pos: 0, promptTokens: 1.5 }]), /'promptTokens' must be an integer/);
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

// ---- prefix caching, preemption, and the step's claim on the context ----

const B = 16; // KV block size of the tests below
const longPrompt = [1, ...Array.from({ length: 44 }, (_, i) => 260 + ((i * 37) % 240))]; // 45 tokens
const penalised = {
  temperature: 1,
  seed: 1234,
  topK: 40,
  repetitionPenalty: 1.3,
  presencePenalty: 0.8,
  frequencyPenalty: 0.4,
  penaltyWindow: 64,
};

test('a sequence with a cached prefix reuses it (whole blocks, then the shared start of one more) and computes the same', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 1024, kvBlockSize: B });
  const [cold] = await ctx.step([{ seq: 0, tokens: longPrompt, pos: 0, logits: 'all' }]);
  ctx.free(0);

  // Same prompt: two of its three blocks are full; the cold run registered them.
  assert.equal(ctx.reusePrefix(1, longPrompt), 2 * B);
  assert.equal(ctx.length(1), 2 * B);
  const [warm] = await ctx.step([{ seq: 1, tokens: longPrompt.slice(2 * B), pos: 2 * B, logits: 'all' }]);
  assertClose(warm.logits!, cold.logits!.subarray(2 * B * V));

  // Greedy continuations agree with a context that caches nothing.
  const ref = createContext(model, { threads: 2, kvTokens: 1024, kvBlockSize: B, prefixCache: false });
  const expected = await decode(ref, 0, longPrompt, 12, { temperature: 0 });
  assert.equal(ref.reusePrefix(1, longPrompt), 0, 'prefixCache: false never reuses');
  ctx.free(1);
  assert.equal(ctx.reusePrefix(2, longPrompt), 2 * B);
  assert.deepEqual(await decode(ctx, 2, longPrompt.slice(2 * B), 12, { temperature: 0 }), expected);

  // A prompt sharing the first block and part of the second: that part is copied.
  const partly = [...longPrompt.slice(0, B + 5), ...Array.from({ length: 9 }, (_, i) => 400 + i)];
  assert.equal(ctx.reusePrefix(7, partly), B + 5);
  const [partlyWarm] = await ctx.step([{ seq: 7, tokens: partly.slice(B + 5), pos: B + 5, logits: 'all' }]);
  const [partlyCold] = await ref.step([{ seq: 7, tokens: partly, pos: 0, logits: 'all' }]);
  assertClose(partlyWarm.logits!, partlyCold.logits!.subarray((B + 5) * V));

  // A prompt sharing only the first block.
  const other = [...longPrompt.slice(0, B), ...Array.from({ length: 30 }, (_, i) => 300 + i)];
  assert.equal(ctx.reusePrefix(3, other), B);
  const [otherWarm] = await ctx.step([{ seq: 3, tokens: other.slice(B), pos: B, logits: 'all' }]);
  const [otherCold] = await ref.step([{ seq: 3, tokens: other, pos: 0, logits: 'all' }]);
  assertClose(otherWarm.logits!, otherCold.logits!.subarray(B * V));

  // The last token is always left to evaluate.
  assert.equal(ctx.reusePrefix(4, longPrompt.slice(0, 2 * B)), 2 * B - 1, 'the second block copied but for its last token');
  assert.equal(ctx.reusePrefix(5, longPrompt.slice(0, B)), B - 1);
  // A miss attaches nothing.
  assert.equal(ctx.reusePrefix(6, [2, ...longPrompt.slice(1)]), 0);
  assert.equal(ctx.length(6), 0);
  ctx.dispose();
  ref.dispose();
});

test('freed full blocks stay cached and count as free', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 256, kvBlockSize: B });
  const total = ctx.stats().kvBlocksTotal;
  assert.equal(ctx.stats().kvBlockSize, B);
  await ctx.step([{ seq: 0, tokens: longPrompt, pos: 0 }]);
  assert.deepEqual([ctx.stats().kvBlocksFree, ctx.stats().kvBlocksCached], [total - 3, 0]);
  ctx.free(0);
  assert.deepEqual([ctx.stats().kvBlocksFree, ctx.stats().kvBlocksCached], [total, 2], 'the two full blocks are cached');
  assert.equal(ctx.reusePrefix(1, longPrompt), 2 * B);
  assert.deepEqual([ctx.stats().kvBlocksFree, ctx.stats().kvBlocksCached], [total - 2, 0]);
  // Filling the cache with other work takes the cached blocks over.
  ctx.free(1);
  await ctx.step([{ seq: 2, tokens: Array.from({ length: total * B - 1 }, (_, i) => 300 + (i % 200)), pos: 0 }]);
  assert.equal(ctx.stats().kvBlocksFree, 0);
  assert.equal(ctx.reusePrefix(3, longPrompt), 0, 'evicted blocks are no longer found');

  const off = createContext(model, { threads: 1, kvTokens: 256, kvBlockSize: B, prefixCache: false });
  await off.step([{ seq: 0, tokens: longPrompt, pos: 0 }]);
  off.free(0);
  assert.deepEqual([off.stats().kvBlocksFree, off.stats().kvBlocksCached], [total, 0]);
  ctx.dispose();
  off.dispose();
});

for (const [name, sampling] of [
  ['greedy', { temperature: 0 }],
  ['seeded sampling with penalties', penalised],
] as const) {
  test(`an evicted sequence recomputed continues exactly as if never evicted (${name})`, async () => {
    const ref = createContext(model, { threads: 2, kvTokens: 1024, kvBlockSize: B, prefixCache: false });
    const expected = await decode(ref, 0, longPrompt, 40, sampling);
    ref.dispose();

    for (const viaCache of [false, true]) {
      const ctx = createContext(model, { threads: 2, kvTokens: 1024, kvBlockSize: B });
      const got = await decode(ctx, 0, longPrompt, 15, sampling);
      ctx.evict(0);
      assert.equal(ctx.length(0), 0);
      // Everything the sequence held, plus its last sampled token: recompute and go on.
      const all = [...longPrompt, ...got];
      const from = viaCache ? ctx.reusePrefix(0, all) : 0;
      assert.equal(from, viaCache ? 3 * B : 0);
      got.push(...(await decode(ctx, 0, all.slice(from), 25, undefined, Math.max(0, longPrompt.length - from))));
      assert.deepEqual(got, expected, viaCache ? 'after reusePrefix' : 'from position 0');
      ctx.evict(12345); // an unknown sequence: nothing happens
      ctx.dispose();
    }
  });
}

test('the penalties see a reused prefix as if it had been fed', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 1024, kvBlockSize: B });
  const strong = { ...penalised, presencePenalty: 3, penaltyWindow: 256 };
  const cold = await decode(ctx, 0, longPrompt, 20, strong);
  ctx.free(0);
  // The generation filled the third block: its shared start is copied too.
  const from = ctx.reusePrefix(1, longPrompt);
  assert.equal(from, longPrompt.length - 1);
  assert.deepEqual(await decode(ctx, 1, longPrompt.slice(from), 20, strong, 1), cold);
  ctx.dispose();
});

test('truncation rewinds the sampler history with the KV cache', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 1024, kvBlockSize: B });
  const greedyPenalised = { temperature: 0, presencePenalty: 3, penaltyWindow: 256 };
  const expected = await decode(ctx, 0, longPrompt, 12, greedyPenalised);
  // Roll back to after the 4th generated token and replay the 5th: the 6th must come again.
  ctx.truncate(0, longPrompt.length + 4);
  assert.deepEqual(await decode(ctx, 0, [expected[4]], 7), expected.slice(5));
  ctx.dispose();
});

test('KV-changing calls are refused while a step is in flight, and the step completes', async () => {
  const ctx = createContext(model, { threads: 2, kvTokens: 1024, kvBlockSize: B });
  const expected = await decode(ctx, 0, longPrompt, 1, { temperature: 0 });
  await ctx.step([{ seq: 1, tokens: promptA, pos: 0 }]);
  ctx.free(0);
  const running = ctx.step([{ seq: 0, tokens: longPrompt, pos: 0, sample: true, sampling: { temperature: 0 } }]);
  const busy = /a step is running on this context/;
  assert.throws(() => ctx.free(1), busy);
  assert.throws(() => ctx.fork(1, 2), busy);
  assert.throws(() => ctx.truncate(1, 2), busy);
  assert.throws(() => ctx.evict(1), busy);
  assert.throws(() => ctx.reusePrefix(3, longPrompt), busy);
  await assert.rejects(ctx.step([{ seq: 1, tokens: [5], pos: promptA.length }]), /a step is already running/);
  assert.ok(ctx.length(0) === 0 || ctx.length(0) === longPrompt.length, 'length can be read meanwhile');
  assert.ok(ctx.stats().kvBlocksFree >= 0, 'stats can be read meanwhile');
  const [r] = await running;
  assert.equal(r.token, expected[0]);
  assert.equal(ctx.length(0), longPrompt.length);
  assert.equal(ctx.length(1), promptA.length, 'the refused calls changed nothing');
  ctx.fork(1, 2); // allowed again once the step settled
  ctx.free(2);
  // A step that fails releases the claim too.
  await assert.rejects(ctx.step([{ seq: 0, tokens: [1], pos: 0 }]), /continues at position 0/);
  ctx.free(0);
  ctx.dispose();
});

test('reusePrefix and evict refuse bad arguments with clear errors', async () => {
  const ctx = createContext(model, { threads: 1, kvTokens: 256, kvBlockSize: B });
  await ctx.step([{ seq: 0, tokens: longPrompt, pos: 0 }]);
  assert.throws(() => ctx.reusePrefix(0, longPrompt), /holds 45 tokens; a prefix can only be reused by an empty sequence/);
  assert.throws(() => ctx.reusePrefix(1, 'abc' as unknown as number[]), /tokens must be an array or Int32Array/);
  assert.throws(() => ctx.reusePrefix(1, [1, 'x'] as unknown as number[]), /tokens must be numbers/);
  assert.throws(() => ctx.reusePrefix(-1, longPrompt), /sequence ids must be >= 0/);
  assert.throws(() => (ctx.reusePrefix as (s?: unknown) => number)(), /expected a sequence id/);
  assert.throws(() => (ctx.evict as (s?: unknown) => void)('x'), /expected a sequence id/);
  assert.equal(ctx.reusePrefix(1, [V, V + 1, -5, ...longPrompt]), 0, 'ids outside the vocabulary simply miss');
  assert.equal(ctx.reusePrefix(2, Int32Array.from(longPrompt)), 2 * B, 'an Int32Array works too');
  ctx.dispose();
  assert.throws(() => ctx.reusePrefix(3, longPrompt), /disposed/);
  assert.throws(() => ctx.evict(3), /disposed/);
});
