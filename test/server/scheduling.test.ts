// The scheduler seen from the API: cached prompt tokens in usage, per-request priority and
// timeout fields, and who a request belongs to (API key, else `user`).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { schedulingFor } from '../../src/server/openai/scheduling.js';
import { postJson, startServer, testModelSpecs, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer(await testModelSpecs());
});
after(() => server.close());

test('a repeated system prompt is served from the prefix cache: cached_tokens counts it, the answer is unchanged', async () => {
  const client = server.client();
  const system = { role: 'system' as const, content: 'You are a careful assistant. You answer in one short sentence and never use lists or code.' };
  const ask = (question: string) =>
    client.chat.completions.create({ model: 'smollm2', messages: [system, { role: 'user', content: question }], max_tokens: 8, temperature: 0 });
  // A cold answer first, from a fresh server with the cache off.
  const cold = await startServer(await testModelSpecs(), ['--prefix-cache', 'false']);
  let coldText: string | null;
  try {
    const r = await cold.client().chat.completions.create({ model: 'smollm2', messages: [system, { role: 'user', content: 'What is the sea?' }], max_tokens: 8, temperature: 0 });
    coldText = r.choices[0].message.content;
    assert.equal(r.usage!.prompt_tokens_details!.cached_tokens, 0);
  } finally {
    await cold.close();
  }
  const first = await ask('Why is the sky blue?');
  const second = await ask('What is the sea?');
  assert.ok(second.usage!.prompt_tokens_details!.cached_tokens! >= 16, `cached ${second.usage!.prompt_tokens_details!.cached_tokens}`);
  assert.ok(second.usage!.prompt_tokens_details!.cached_tokens! < second.usage!.prompt_tokens);
  assert.equal(second.choices[0].message.content, coldText);
  assert.ok(first.usage!.prompt_tokens > 0);
});

test('a request that outlives its `timeout` gets 408 timeout_error; a bad timeout or priority is a 400', async () => {
  const body = { model: 'smollm2', messages: [{ role: 'user', content: 'Tell me a long story.' }], max_tokens: 2000, temperature: 0 };
  const res = await postJson(`${server.url}/v1/chat/completions`, { ...body, timeout: 0.05 });
  assert.equal(res.status, 408);
  assert.equal(res.json.error.type, 'timeout_error');
  assert.equal(res.json.error.code, 'timeout');
  for (const bad of [{ timeout: -1 }, { timeout: 'soon' }, { priority: 1.5 }, { priority: 'high' }]) {
    const r = await postJson(`${server.url}/v1/chat/completions`, { ...body, max_tokens: 1, ...bad });
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.json.error.param, Object.keys(bad)[0]);
  }
  const ok = await postJson(`${server.url}/v1/completions`, { model: 'stories', prompt: 'Once', max_tokens: 2, priority: 3, timeout: 30 });
  assert.equal(ok.status, 200);
});

test('scheduling policy: the API key is the owner and sets the floor of the priority; without keys `user` is the owner', () => {
  const policy = { keyPriorities: { gold: -5, bronze: 5 }, requestTimeoutSeconds: 60 };
  assert.deepEqual(schedulingFor({}, 'gold', policy), { priority: -5, owner: 'key:gold', timeoutMs: 60000 });
  // A key may ask for a later turn, never an earlier one than its own.
  assert.equal(schedulingFor({ priority: -10 }, 'bronze', policy).priority, 5);
  assert.equal(schedulingFor({ priority: 9 }, 'bronze', policy).priority, 9);
  assert.equal(schedulingFor({ priority: 2 }, 'other', policy).priority, 2);
  assert.equal(schedulingFor({ user: 'alice' }, 'gold', policy).owner, 'key:gold');
  assert.equal(schedulingFor({ user: 'alice' }, undefined, policy).owner, 'user:alice');
  assert.equal(schedulingFor({}, undefined, { keyPriorities: {}, requestTimeoutSeconds: 0 }).owner, 'default');
  // The shorter of the request's and the server's timeouts.
  assert.equal(schedulingFor({ timeout: 2.5 }, undefined, policy).timeoutMs, 2500);
  assert.equal(schedulingFor({ timeout: 600 }, undefined, policy).timeoutMs, 60000);
  assert.equal(schedulingFor({}, undefined, { keyPriorities: {}, requestTimeoutSeconds: 0 }).timeoutMs, undefined);
});
