// Every kind of bad request gets OpenAI's error shape and the right status; none crashes the server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { QueueFullError, ShuttingDownError } from '../../src/scheduler/errors.js';
import { ApiError, toApiError } from '../../src/server/errors.js';
import { assertMatchesSchema } from '../helpers/openapi-contract.js';
import { postJson, startServer, testModelSpecs, type TestServer } from '../helpers/server.js';

let server: TestServer;

before(async () => {
  server = await startServer(await testModelSpecs(), ['--body-limit', '65536']);
});
after(() => server.close());

const chat = (body: unknown) => postJson(`${server.url}/v1/chat/completions`, body);
const messages = [{ role: 'user', content: 'Hi' }];

function assertError(res: { status: number; json: any }, status: number, param: string | null, code?: string | null) {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assertMatchesSchema('ErrorResponse', res.json);
  assert.equal(res.json.error.param, param);
  if (code !== undefined) assert.equal(res.json.error.code, code);
  assert.ok(res.json.error.message.length > 10);
}

test('a bad value is a 400 naming the field', async () => {
  assertError(await chat({ model: 'stories', messages, temperature: 'hot' }), 400, 'temperature', 'invalid_type');
  assertError(await chat({ model: 'stories', messages, temperature: 5 }), 400, 'temperature');
  assertError(await chat({ model: 'stories', messages, n: 0 }), 400, 'n');
  assertError(await chat({ model: 'stories', messages: [{ role: 'wizard', content: 'x' }] }), 400, 'messages[0].role');
  assertError(await chat({ model: 'stories', messages: [] }), 400, 'messages');
  assertError(await chat({ messages }), 400, 'model');
  assertError(await chat({ model: 'stories', messages, logit_bias: { 999999: 5 } }), 400, 'logit_bias');
  assertError(await chat({ model: 'stories', messages, top_logprobs: 2 }), 400, 'top_logprobs');
  assertError(await chat({ model: 'stories', messages, stream_options: { include_usage: true } }), 400, 'stream_options');
  assertError(await postJson(`${server.url}/v1/completions`, { model: 'stories', prompt: 'x', stream: false, stream_options: {} }), 400, 'stream_options');
  assertError(await chat({ model: 'stories', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }), 400, 'messages[0].content[0].type');
  assertError(await postJson(`${server.url}/v1/completions`, { model: 'stories', prompt: 'x', suffix: 'y' }), 400, 'suffix');
  assertError(await postJson(`${server.url}/v1/completions`, { model: 'stories', prompt: [999999] }), 400, 'prompt');
  assertError(await postJson(`${server.url}/v1/embeddings`, { model: 'stories', input: 'x', dimensions: 3 }), 400, 'dimensions');
  assertError(await postJson(`${server.url}/v1/embeddings`, { model: 'stories', input: '' }), 400, 'input');
});

test('unknown fields are ignored, null means not set', async () => {
  const res = await chat({ model: 'stories', messages, max_tokens: 2, temperature: null, frobnicate: true, stream_options: null });
  assert.equal(res.status, 200);
  assert.equal(res.json.usage.completion_tokens, 2);
});

test('malformed JSON, a wrong content type and an oversized body', async () => {
  assertError(await chat('{"model": "stories", '), 400, null, 'invalid_json');
  const wrongType = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
  assertError({ status: wrongType.status, json: await wrongType.json() }, 415, null);
  assertError(await chat({ model: 'stories', messages: [{ role: 'user', content: 'x'.repeat(70000) }] }), 413, null, 'request_too_large');
});

test('a prompt plus max_tokens beyond the context is context_length_exceeded, never truncated', async () => {
  const ctx = server.models.get('stories')!.contextSize;
  assertError(await chat({ model: 'stories', messages, max_tokens: ctx }), 400, 'max_tokens', 'context_length_exceeded');
  assertError(await postJson(`${server.url}/v1/completions`, { model: 'stories', prompt: 'Once', max_tokens: ctx }), 400, 'max_tokens', 'context_length_exceeded');
  const long = Array.from({ length: ctx + 1 }, () => 300);
  assertError(await postJson(`${server.url}/v1/completions`, { model: 'stories', prompt: long }), 400, 'max_tokens', 'context_length_exceeded');
  assertError(await postJson(`${server.url}/v1/embeddings`, { model: 'stories', input: long }), 400, 'input', 'context_length_exceeded');
});

test('unknown model and unknown route are 404', async () => {
  assertError(await chat({ model: 'gpt-9', messages }), 404, 'model', 'model_not_found');
  const res = await fetch(`${server.url}/v1/nothing`);
  assertError({ status: res.status, json: await res.json() }, 404, null);
});

test('a full queue answers 429 with Retry-After', async () => {
  const busy = await startServer(await testModelSpecs(), ['--max-queue', '1', '--max-seqs', '1']);
  try {
    const long = { model: 'smollm2', messages, max_tokens: 200, temperature: 0 };
    const running = postJson(`${busy.url}/v1/chat/completions`, long);
    await waitFor(() => busy.models.get('smollm2')!.scheduler.stats().runningSequences === 1);
    const queued = postJson(`${busy.url}/v1/chat/completions`, { ...long, max_tokens: 2 });
    await waitFor(() => busy.models.get('smollm2')!.scheduler.stats().queueDepth === 1);
    const refused = await postJson(`${busy.url}/v1/chat/completions`, long);
    assertError(refused, 429, null, 'queue_full');
    assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal((await running).status, 200);
    assert.equal((await queued).status, 200);
  } finally {
    await busy.close();
  }
});

test('an engine failure is a 500 in the same shape, and the server goes on answering', async () => {
  const broken = await startServer(await testModelSpecs());
  try {
    broken.models.get('stories')!.scheduler.dispose(); // its native context is gone: every step fails
    assertError(await postJson(`${broken.url}/v1/chat/completions`, { model: 'stories', messages, max_tokens: 2 }), 500, null, 'internal_error');
    const ok = await postJson(`${broken.url}/v1/chat/completions`, { model: 'smollm2', messages, max_tokens: 2 });
    assert.equal(ok.status, 200);
  } finally {
    await broken.close().catch(() => {});
  }
});

test('503 while the models load', async () => {
  const { ServedModels } = await import('../../src/server/served-models.js');
  const { Metrics } = await import('../../src/observability/metrics.js');
  const { buildApp } = await import('../../src/server/app.js');
  const { loadConfig } = await import('../../src/config.js');
  const config = loadConfig(['--log-level', 'silent'], {});
  const models = new ServedModels(config, new Metrics());
  // Loading never finishes: an hf: model from a hub that accepts connections and never answers.
  const { createServer } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket)).listen(0, '127.0.0.1');
  await new Promise((r) => silent.once('listening', r));
  config.hfEndpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  config.dataDir = (await import('../helpers/paths.js')).tempDir();
  config.models = [{ path: 'hf:owner/repo/model.gguf' }];
  const loading = models.loadAll().catch((err: Error) => err);
  const app = await buildApp(config, models, new Metrics());
  try {
    const health = await app.inject({ method: 'GET', url: '/health' });
    assertError({ status: health.statusCode, json: health.json() }, 503, null, 'model_loading');
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'model', messages } });
    assertError({ status: res.statusCode, json: res.json() }, 503, null, 'model_loading');
  } finally {
    await app.close();
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
  assert.ok((await loading) instanceof Error);
});

async function waitFor(condition: () => boolean, timeoutMs = 10000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('only a failure of the server itself is logged as an error, not a state it reports', () => {
  assert.equal(toApiError(new TypeError('a bug')).isServerFault, true);
  assert.equal(new ApiError(503, 'The model is still loading.', null, 'model_loading').isServerFault, false);
  assert.equal(toApiError(new ShuttingDownError()).isServerFault, false);
  assert.equal(toApiError(new QueueFullError(1)).isServerFault, false);
});
