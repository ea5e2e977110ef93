// Who runs when: fair shares between owners, priorities, the queue limit, timeouts, and
// cancellation freeing a sequence's KV blocks whether it was waiting, prefilling or decoding.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LoadedModel } from '../../src/engine/loaded-model.js';
import { CancelledError, QueueFullError, RequestTimeoutError } from '../../src/scheduler/errors.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { stories260K } from '../helpers/paths.js';
import { collect, greedyRequest, loadOnce, makeScheduler, tokenize } from './helpers.js';

let model: LoadedModel;
before(async () => {
  model = await loadOnce(stories260K());
});
after(() => model?.dispose());

const prompt = () => tokenize(model, 'Once upon a time');

async function withScheduler(options: Parameters<typeof makeScheduler>[1], body: (s: Scheduler) => Promise<void>): Promise<void> {
  const s = makeScheduler(model, options);
  try {
    await body(s);
  } finally {
    await s.close(0);
    s.dispose();
  }
}

const waitFor = async (cond: () => boolean, what: string) => {
  const end = Date.now() + 10000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

test('fairness: two owners flooding the server get token shares within 20% of each other', async () => {
  // Requests are not preempted for fairness, so at any moment one owner may be ahead by the
  // requests running (up to maxSequences of them, 12 tokens here): many short requests keep
  // that small beside the ~96 tokens each owner has by the halfway mark.
  await withScheduler({ maxSequences: 2 }, async (s) => {
    const served = { a: 0, b: 0 };
    let atHalf: { a: number; b: number } | undefined;
    const requests = 32, tokens = 6;
    const total = 2 * requests * tokens;
    const flood = (owner: 'a' | 'b') =>
      Array.from({ length: requests }, () =>
        collect(s.generate(greedyRequest(model, prompt(), tokens, { owner })), (e) => {
          if (e.type !== 'delta') return;
          served[owner] += e.tokens.length;
          if (!atHalf && served.a + served.b >= total / 2) atHalf = { ...served };
        }),
      );
    // Owner a floods first; b arrives after a already holds both running slots.
    const runs = [...flood('a'), ...flood('b')];
    await Promise.all(runs);
    const { a, b } = atHalf!;
    assert.ok(Math.abs(a - b) <= 0.2 * Math.max(a, b), `halfway through, a got ${a} tokens and b ${b}`);
  });
});

test('priority: a lower priority value starts first; equal priorities keep arrival order', async () => {
  await withScheduler({ maxSequences: 1 }, async (s) => {
    const started: string[] = [];
    const run = (name: string, priority: number, tokens = 4) =>
      collect(s.generate(greedyRequest(model, prompt(), tokens, { priority })), (e) => {
        if (e.type === 'delta' && !started.includes(name)) started.push(name);
      });
    const runs = [run('first', 0, 30), run('late-low', 5), run('late-high-1', -1), run('late-high-2', -1), run('normal', 0)];
    await Promise.all(runs);
    assert.deepEqual(started, ['first', 'late-high-1', 'late-high-2', 'normal', 'late-low']);
  });
});

test('a full waiting line refuses at once with QueueFullError (429 with Retry-After)', async () => {
  await withScheduler({ maxSequences: 1, maxQueue: 2 }, async (s) => {
    const a = collect(s.generate(greedyRequest(model, prompt(), 20)));
    await waitFor(() => s.stats().runningSequences === 1, 'the first request to run');
    const b = collect(s.generate(greedyRequest(model, prompt(), 2)));
    const c = collect(s.generate(greedyRequest(model, prompt(), 2)));
    assert.throws(() => s.generate(greedyRequest(model, prompt(), 2)), (err: unknown) => err instanceof QueueFullError && err.retryAfterSeconds >= 1);
    await Promise.all([a, b, c]);
  });
});

test('a request timeout fails it with RequestTimeoutError and frees its blocks', async () => {
  await withScheduler({}, async (s) => {
    const total = s.stats().kvBlocksTotal;
    const events = s.generate(greedyRequest(model, prompt(), 400, { timeoutMs: 30 }));
    await assert.rejects(collect(events), RequestTimeoutError);
    await waitFor(() => s.stats().runningSequences === 0 && s.stats().kvBlocksFree === total, 'the blocks to come back');
  });
});

test('cancel frees the blocks whether the sequence was waiting, prefilling or decoding', async () => {
  await withScheduler({ maxSequences: 1, stepTokens: 8 }, async (s) => {
    const total = s.stats().kvBlocksTotal;
    const settled = () => s.stats().runningSequences === 0 && s.stats().waitingSequences === 0 && s.stats().kvBlocksFree === total;

    // Decoding: cancelled after its first token.
    const decoding = new AbortController();
    let sawToken = false;
    const decodeRun = collect(s.generate(greedyRequest(model, prompt(), 400, { signal: decoding.signal })), (e) => {
      if (e.type === 'delta' && !sawToken) {
        sawToken = true;
        decoding.abort(new CancelledError('test'));
      }
    });
    await assert.rejects(decodeRun, CancelledError);
    await waitFor(settled, 'a decoding sequence to be freed');

    // Prefilling: a long prompt fed 8 tokens a step, cancelled after its first chunk.
    const prefilling = new AbortController();
    const long = tokenize(model, 'The little dog ran to the park and played with a ball all day long. '.repeat(5));
    const stepsBefore = s.stats().steps;
    const prefillRun = collect(s.generate(greedyRequest(model, long, 4, { signal: prefilling.signal })));
    await waitFor(() => s.stats().steps > stepsBefore, 'the first prefill chunk');
    prefilling.abort(new CancelledError('test'));
    await assert.rejects(prefillRun, CancelledError);
    await waitFor(settled, 'a prefilling sequence to be freed');
    assert.ok(s.stats().steps - stepsBefore < Math.ceil(long.length / 8), 'the prefill ran to the end');

    // Waiting: behind a running request, cancelled before it starts.
    const runningRun = collect(s.generate(greedyRequest(model, prompt(), 30)));
    await waitFor(() => s.stats().runningSequences === 1, 'the first request to run');
    const waiting = new AbortController();
    const waitRun = collect(s.generate(greedyRequest(model, prompt(), 4, { signal: waiting.signal })));
    assert.equal(s.stats().queueDepth, 1);
    waiting.abort(new CancelledError('test'));
    await assert.rejects(waitRun, CancelledError);
    assert.equal(s.stats().queueDepth, 0);
    await runningRun;
    await waitFor(settled, 'everything to be freed');
  });
});

test('embeddings run in the same batches as generations and give the same vectors as alone', async () => {
  const inputs = [tokenize(model, 'The cat sat.'), tokenize(model, 'A dog ran to the park and played all day.')];
  let aloneVectors: Float32Array[] = [];
  await withScheduler({}, async (s) => {
    aloneVectors = await s.embed({ inputs, signal: new AbortController().signal });
  });
  await withScheduler({ stepTokens: 8 }, async (s) => {
    const gen = collect(s.generate(greedyRequest(model, prompt(), 30)));
    const vectors = await s.embed({ inputs, signal: new AbortController().signal });
    await gen;
    assert.equal(vectors.length, 2);
    for (let i = 0; i < inputs.length; i++) {
      assert.equal(vectors[i].length, aloneVectors[i].length);
      let worst = 0;
      for (let j = 0; j < vectors[i].length; j++) worst = Math.max(worst, Math.abs(vectors[i][j] - aloneVectors[i][j]));
      assert.ok(worst < 1e-4, `input ${i} differs by ${worst}`);
    }
  });
});
