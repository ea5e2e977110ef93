// Continuous batching: many sequences share each engine step, and that must never change what
// any of them generates — whether batched, chunked, preempted and recomputed, forked for n > 1,
// or started from cached prefix blocks.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LoadedModel } from '../../src/engine/loaded-model.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { stories260K } from '../helpers/paths.js';
import { generatedModel } from '../helpers/test-models.js';
import { collect, greedyRequest, loadOnce, makeScheduler, tokenize } from './helpers.js';

let stories: LoadedModel;
let smollm: LoadedModel;
before(async () => {
  stories = await loadOnce(stories260K());
  smollm = await loadOnce(await generatedModel('smollm2-135m', 'q8_0'));
});

const storyPrompts = ['Once upon a time', 'The little dog ran', 'Lily and Tom went to the park', 'One day, a big', 'The sun was', 'A girl named Sue'];

async function alone(model: LoadedModel, prompts: number[][], maxTokens: number): Promise<number[][]> {
  const s = makeScheduler(model);
  try {
    const out: number[][] = [];
    for (const p of prompts) out.push((await collect(s.generate(greedyRequest(model, p, maxTokens)))).tokens[0]);
    return out;
  } finally {
    await s.close(0);
    s.dispose();
  }
}

async function together(s: Scheduler, model: LoadedModel, prompts: number[][], maxTokens: number): Promise<number[][]> {
  const runs = prompts.map((p) => collect(s.generate(greedyRequest(model, p, maxTokens))));
  return (await Promise.all(runs)).map((r) => r.tokens[0]);
}

for (const which of ['stories260K', 'smollm2-135m q8_0'] as const) {
  test(`${which}: concurrent greedy streams give exactly the tokens each gives alone`, async () => {
    const model = which === 'stories260K' ? stories : smollm;
    const prompts = storyPrompts.map((t) => tokenize(model, t));
    const expected = await alone(model, prompts, 24);
    const s = makeScheduler(model);
    try {
      const got = await together(s, model, prompts, 24);
      assert.deepEqual(got, expected);
      // They really shared steps: far fewer steps than tokens.
      assert.ok(s.stats().steps < (24 * prompts.length) / 2, `${s.stats().steps} steps for ${24 * prompts.length} tokens`);
    } finally {
      await s.close(0);
      s.dispose();
    }
  });
}

/**
 * A stream of 60 tokens runs; once it has 2, a long prompt arrives. Returns the stream's tokens,
 * the long prompt's length and how many tokens the stream had when the long one produced its first.
 */
async function streamDuringLongPrefill(stepTokens: number) {
  const s = makeScheduler(stories, { stepTokens, maxSequences: 4 });
  try {
    const longPrompt = tokenize(stories, 'Once upon a time there was a little girl who loved to play in the park with her friends every day. '.repeat(4));
    let runningTokens = 0;
    let tokensBeforeLongFirst = -1;
    let longRun: Promise<unknown> | undefined;
    const running = collect(s.generate(greedyRequest(stories, tokenize(stories, 'The dog'), 60)), (e) => {
      if (e.type === 'delta') runningTokens += e.tokens.length;
      if (!longRun && runningTokens >= 2) {
        longRun = collect(s.generate(greedyRequest(stories, longPrompt, 4)), (le) => {
          if (le.type === 'delta' && tokensBeforeLongFirst < 0) tokensBeforeLongFirst = runningTokens;
        });
      }
    });
    const tokens = (await running).tokens[0];
    await longRun;
    return { tokens, promptLength: longPrompt.length, tokensBeforeLongFirst };
  } finally {
    await s.close(0);
    s.dispose();
  }
}

test('chunked prefill: a long prompt is fed in chunks while running streams keep getting tokens', async () => {
  const { tokens, promptLength, tokensBeforeLongFirst } = await streamDuringLongPrefill(16);
  assert.ok(promptLength > 100);
  const expected = (await alone(stories, [tokenize(stories, 'The dog')], 60))[0];
  assert.deepEqual(tokens, expected);
  // The long prompt took about length/15 steps, and the running stream got a token in each.
  const chunks = Math.floor(promptLength / 15);
  assert.ok(tokensBeforeLongFirst - 2 >= chunks - 2, `running stream got ${tokensBeforeLongFirst - 2} tokens during a ${promptLength}-token prefill`);
});

test('while a stream generates, a long prompt rides along at most 16 tokens a step (the stream keeps its pace)', async () => {
  const { promptLength, tokensBeforeLongFirst } = await streamDuringLongPrefill(256);
  assert.ok(promptLength > 100);
  // A 256-token budget would take the whole prompt in one step; 16 a step takes length/16.
  const steps = Math.floor(promptLength / 16);
  assert.ok(tokensBeforeLongFirst - 2 >= steps - 2, `running stream got ${tokensBeforeLongFirst - 2} tokens during a ${promptLength}-token prefill`);
});

test('preemption: with too little KV cache, sequences are preempted and recomputed, outputs unchanged (greedy and seeded)', async () => {
  const prompts = storyPrompts.map((t) => tokenize(stories, t));
  const seeded = (p: number[]) => ({
    ...greedyRequest(stories, p, 40),
    sampling: { temperature: 1, seed: 1234, topK: 40, repetitionPenalty: 1.2, logitBias: stories.tokenizer.endOfGenerationIds.map((id) => [id, -Infinity] as [number, number]) },
  });
  const big = makeScheduler(stories);
  const expectedGreedy = await together(big, stories, prompts, 40);
  const expectedSeeded = (await Promise.all(prompts.map((p) => collect(big.generate(seeded(p)))))).map((r) => r.tokens[0]);
  await big.close(0);
  big.dispose();

  // 6 sequences of up to ~50 tokens need ~24 blocks of 16; give the cache 12.
  const small = makeScheduler(stories, { kvTokens: 192, contextSize: 96, prefixCache: false });
  try {
    assert.deepEqual(await together(small, stories, prompts, 40), expectedGreedy);
    const seededRuns = (await Promise.all(prompts.map((p) => collect(small.generate(seeded(p)))))).map((r) => r.tokens[0]);
    assert.deepEqual(seededRuns, expectedSeeded);
    const metrics = await small['options'].metrics!.registry.getSingleMetricAsString('omni_preemptions_total');
    const preemptions = Number(/omni_preemptions_total\{model="test"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(preemptions > 0, 'no sequence was preempted: the test did not exercise preemption');
    assert.equal(small.stats().kvBlocksFree, small.stats().kvBlocksTotal);
  } finally {
    await small.close(0);
    small.dispose();
  }
});

test('n > 1 forks the prompt: choices share its blocks and each equals the same seed run alone', async () => {
  const prompt = tokenize(stories, 'Once upon a time there was a little girl who loved to play in the park with her friends every day.');
  const request = (n: number, seed: number) => ({
    ...greedyRequest(stories, prompt, 12),
    n,
    sampling: { temperature: 1, seed },
  });
  const s = makeScheduler(stories, { prefixCache: false });
  try {
    const single = await Promise.all([0, 1, 2, 3].map(async (i) => (await collect(s.generate(request(1, 77 + i)))).tokens[0]));
    let usedMidway = 0;
    const four = await collect(s.generate(request(4, 77)), (e) => {
      if (e.type === 'delta' && usedMidway === 0) usedMidway = s.stats().kvBlocksTotal - s.stats().kvBlocksFree;
    });
    assert.deepEqual(four.tokens, single);
    const promptBlocks = Math.ceil(prompt.length / 16);
    // Shared: the prompt's full blocks once, plus a block or two per choice (not 4 copies).
    assert.ok(usedMidway <= promptBlocks + 4 * 2, `${usedMidway} blocks in use for a ${promptBlocks}-block prompt and 4 choices`);
    assert.equal(four.usage!.completionTokens, 48);
  } finally {
    await s.close(0);
    s.dispose();
  }
});

test('prefix cache: a repeated prompt reuses every shared token and gives the same output as a cold run', async () => {
  const system = 'You are a helpful assistant who tells short stories about animals and children. ';
  const a = tokenize(smollm, `${system}Tell me about a cat who lives by the sea.`);
  const b = tokenize(smollm, `${system}Tell me about a dog who lives by the sea.`);
  const cold = await alone(smollm, [b], 16);
  const s = makeScheduler(smollm);
  try {
    // 20 tokens: the generation fills the block where b departs from a, so it is registered.
    const first = await collect(s.generate(greedyRequest(smollm, a, 20)));
    assert.equal(first.usage!.cachedTokens, 0);
    const second = await collect(s.generate(greedyRequest(smollm, b, 16)));
    let shared = 0;
    while (shared < a.length && a[shared] === b[shared]) shared++;
    assert.ok(shared % 16 !== 0, 'the prompts part inside a block (the case of a partly matching block)');
    assert.equal(second.usage!.cachedTokens, shared, 'the full blocks and the shared start of the next');
    assert.deepEqual(second.tokens[0], cold[0]);
    const again = await collect(s.generate(greedyRequest(smollm, b, 16)));
    // All but the last token, which is computed exactly as in a cold prefill.
    assert.equal(again.usage!.cachedTokens, b.length - 1);
    assert.deepEqual(again.tokens[0], cold[0]);
  } finally {
    await s.close(0);
    s.dispose();
  }
});

after(() => {
  stories?.dispose();
  smollm?.dispose();
});
