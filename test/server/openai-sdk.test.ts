// The official OpenAI SDK against a really listening server: what a user's existing code does.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type OpenAI from 'openai';
import { startServer, testModelSpecs, type TestServer } from '../helpers/server.js';

let server: TestServer;
let client: OpenAI;

before(async () => {
  server = await startServer(await testModelSpecs());
  client = server.client();
});
after(() => server.close());

const hello = [{ role: 'user' as const, content: 'Tell me a story about a dog.' }];

test('models are listed and retrieved', async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id).sort(), ['smollm2', 'stories']);
  const one = await client.models.retrieve('stories');
  assert.equal(one.id, 'stories');
  assert.equal(one.object, 'model');
  await assert.rejects(client.models.retrieve('nope'), (err: any) => err.status === 404);
});

for (const model of ['stories', 'smollm2']) {
  describe(`chat with ${model}`, () => {
    test('streamed deltas joined equal the non-streamed text (greedy)', async () => {
      const whole = await client.chat.completions.create({ model, messages: hello, max_tokens: 24, temperature: 0 });
      const text = whole.choices[0].message.content!;
      assert.ok(text.length > 0);
      assert.equal(whole.choices[0].finish_reason, 'length');
      assert.equal(whole.usage!.completion_tokens, 24);
      assert.equal(whole.usage!.total_tokens, whole.usage!.prompt_tokens + 24);

      const stream = await client.chat.completions.create({ model, messages: hello, max_tokens: 24, temperature: 0, stream: true });
      let joined = '';
      let role: string | undefined;
      let finish: string | null = null;
      for await (const chunk of stream) {
        const c = chunk.choices[0];
        role ??= c.delta.role;
        joined += c.delta.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
      assert.equal(role, 'assistant');
      assert.equal(joined, text);
      assert.equal(finish, 'length');
    });

    test('the same seed reproduces a sampled answer; another seed differs', async () => {
      const ask = (seed: number) =>
        client.chat.completions.create({ model, messages: hello, max_tokens: 24, temperature: 1, seed }).then((r) => r.choices[0].message.content);
      const [a, b, c] = [await ask(7), await ask(7), await ask(8)];
      assert.equal(a, b);
      assert.notEqual(a, c);
    });
  });
}

test('the SmolLM2 prompt is rendered with the model\'s own chat template', async () => {
  // SmolLM2's template adds its default system prompt: the prompt is much longer than the message.
  const r = await client.chat.completions.create({ model: 'smollm2', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 });
  const { json } = await fetch(`${server.url}/tokenize`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'smollm2', content: '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n' }),
  }).then(async (res) => ({ json: (await res.json()) as { tokens: number[] } }));
  assert.equal(r.usage!.prompt_tokens, json.tokens.length);
});

test('n=2 gives two choices, each reproducible from the seed', async () => {
  const ask = () => client.chat.completions.create({ model: 'smollm2', messages: hello, max_tokens: 12, temperature: 1, seed: 42, n: 2 });
  const first = await ask();
  assert.deepEqual(first.choices.map((c) => c.index), [0, 1]);
  assert.notEqual(first.choices[0].message.content, first.choices[1].message.content);
  assert.equal(first.usage!.completion_tokens, 24);
  const again = await ask();
  assert.deepEqual(again.choices.map((c) => c.message.content), first.choices.map((c) => c.message.content));
});

test('a stop string ends the answer before it, streamed or not, and never leaks', async () => {
  const base = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 40, temperature: 0 });
  const text = base.choices[0].text;
  const stop = text.slice(20, 24);
  assert.equal(stop.length, 4);
  const expected = text.slice(0, text.indexOf(stop));
  const cut = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stop: [stop, 'zzzz'] });
  assert.equal(cut.choices[0].text, expected);
  assert.equal(cut.choices[0].finish_reason, 'stop');
  const stream = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stop, stream: true });
  let joined = '';
  for await (const chunk of stream) joined += chunk.choices[0]?.text ?? '';
  assert.equal(joined, expected);
});

test('completions: string, token ids, several prompts, echo, include_usage', async () => {
  const a = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 10, temperature: 0 });
  const ids = (await fetch(`${server.url}/tokenize`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'stories', content: 'Once upon a time', add_special: true }),
  }).then((r) => r.json())) as { tokens: number[] };
  const b = await client.completions.create({ model: 'stories', prompt: ids.tokens, max_tokens: 10, temperature: 0 });
  assert.equal(b.choices[0].text, a.choices[0].text);
  assert.equal(b.usage!.prompt_tokens, a.usage!.prompt_tokens);

  const many = await client.completions.create({ model: 'stories', prompt: ['Once upon a time', 'The cat'], max_tokens: 10, temperature: 0, n: 2 });
  assert.deepEqual(many.choices.map((c) => c.index), [0, 1, 2, 3]);
  assert.equal(many.choices[0].text, a.choices[0].text);
  assert.equal(many.choices[1].text, a.choices[0].text);
  assert.notEqual(many.choices[2].text, a.choices[0].text);
  assert.equal(many.usage!.completion_tokens, 40);

  const echo = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 10, temperature: 0, echo: true });
  assert.equal(echo.choices[0].text, 'Once upon a time' + a.choices[0].text);

  const stream = await client.completions.create({
    model: 'stories', prompt: 'Once upon a time', max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, a.usage);
  for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
});

test('logprobs: the chosen token\'s logprob, top alternatives sorted, greedy picks the best', async () => {
  const r = await client.chat.completions.create({ model: 'stories', messages: hello, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs!.content!;
  assert.equal(content.length, 8);
  assert.equal(content.map((t) => t.token).join(''), r.choices[0].message.content);
  for (const t of content) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    const lps = t.top_logprobs.map((x) => x.logprob);
    assert.deepEqual(lps, [...lps].sort((x, y) => y - x));
    assert.equal(t.top_logprobs[0].token, t.token);
    assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-6);
    assert.deepEqual(t.bytes, [...Buffer.from(t.token)]);
  }
  const legacy = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 6, temperature: 0, logprobs: 2 });
  const lp = legacy.choices[0].logprobs!;
  assert.equal(lp.tokens!.join(''), legacy.choices[0].text);
  assert.equal(lp.top_logprobs!.length, 6);
  let offset = 0;
  lp.tokens!.forEach((tok, i) => {
    assert.equal(lp.text_offset![i], offset);
    offset += tok.length;
  });
});

test('embeddings: unit length, the model\'s width, identical inputs give cosine 1, base64 equals float', async () => {
  const width = server.models.get('smollm2')!.model.hparams.nEmbd;
  const r = await client.embeddings.create({ model: 'smollm2', input: ['The cat sat on the mat.', 'The cat sat on the mat.', 'Quantum chromodynamics'] });
  assert.equal(r.data.length, 3);
  const [a, b, c] = r.data.map((d) => d.embedding);
  assert.equal(a.length, width);
  const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
  assert.ok(Math.abs(dot(a, a) - 1) < 1e-4);
  assert.ok(Math.abs(dot(a, b) - 1) < 1e-5);
  assert.ok(dot(a, c) < 0.999);
  assert.ok(r.usage.prompt_tokens > 0);
  const b64 = await client.embeddings.create({ model: 'smollm2', input: 'The cat sat on the mat.', encoding_format: 'base64' });
  // Asked for explicitly, base64 comes back as the string: little-endian float32 bytes.
  const bytes = Buffer.from(b64.data[0].embedding as unknown as string, 'base64');
  const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
  assert.equal(decoded.length, width);
  decoded.forEach((v, i) => assert.ok(Math.abs(v - a[i]) < 1e-6));
});
