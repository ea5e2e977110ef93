// The SSE bytes on the wire, what a disconnect does to the engine, and many clients at once.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { assertMatchesSchema } from '../helpers/openapi-contract.js';
import { engineSteps, postJson, startServer, testModelSpecs, type TestServer } from '../helpers/server.js';

let server: TestServer;

before(async () => {
  server = await startServer(await testModelSpecs());
});
after(() => server.close());

/** POSTs with node:http and returns the raw body bytes as text. */
function rawPost(path: string, body: unknown): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('SSE bytes: data events, role first, finish on the last choice chunk, usage chunk, [DONE]', async () => {
  const body = { model: 'stories', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5, temperature: 0 };
  const res = await rawPost('/v1/chat/completions', { ...body, stream: true, stream_options: { include_usage: true } });
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type']!, /^text\/event-stream/);
  assert.ok(res.headers['x-request-id']);
  // Nothing but `data: …\n\n` events, ending with [DONE].
  assert.match(res.text, /^(data: [^\n]+\n\n)+$/);
  const events = res.text.split('\n\n').filter(Boolean).map((e) => e.slice('data: '.length));
  assert.equal(events.pop(), '[DONE]');
  const chunks = events.map((e) => JSON.parse(e));
  for (const c of chunks) assertMatchesSchema('ChatCompletionChunk', c);
  assert.ok(chunks.every((c) => c.id === chunks[0].id && c.object === 'chat.completion.chunk'));
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  const usageChunk = chunks.pop();
  assert.deepEqual(usageChunk.choices, []);
  assert.equal(usageChunk.usage.completion_tokens, 5);
  const finishChunk = chunks.pop();
  assert.equal(finishChunk.choices[0].finish_reason, 'length');
  assert.deepEqual(finishChunk.choices[0].delta, {});
  for (const c of chunks) {
    assert.equal(c.choices[0].finish_reason, null);
    assert.equal(c.usage, null);
  }
  const text = chunks.map((c) => c.choices[0].delta.content).join('');
  const whole = await postJson(`${server.url}/v1/chat/completions`, body);
  assert.equal(text, whole.json.choices[0].message.content);
  assertMatchesSchema('ChatCompletion', whole.json);
});

test('without include_usage no chunk carries usage', async () => {
  const res = await rawPost('/v1/completions', { model: 'stories', prompt: 'Once', max_tokens: 3, stream: true });
  const chunks = res.text.split('\n\n').filter(Boolean).slice(0, -1).map((e) => JSON.parse(e.slice(6)));
  assert.equal(chunks.length, 4);
  for (const c of chunks) {
    assert.equal('usage' in c, false);
    assertMatchesSchema('CompletionChunk', c);
  }
});

/** Sends raw HTTP/1.1 requests on one TCP connection, one after another; returns each response's bytes. */
async function rawExchanges(requests: string[]): Promise<Buffer[]> {
  const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
  const responses: Buffer[] = [];
  try {
    for (const request of requests) {
      responses.push(await new Promise<Buffer>((resolve, reject) => {
        let bytes = Buffer.alloc(0);
        const onData = (d: Buffer) => {
          bytes = Buffer.concat([bytes, d]);
          if (bytes.subarray(-7).toString('latin1') === '\r\n0\r\n\r\n') {
            socket.off('data', onData);
            resolve(bytes);
          }
        };
        socket.on('data', onData);
        socket.once('error', reject);
        socket.write(request);
      }));
    }
  } finally {
    socket.destroy();
  }
  return responses;
}

test('SSE chunked framing: one event per chunk, sizes in bytes, the connection reusable after', async () => {
  // Bias towards a token whose text is non-ASCII, so bytes and characters differ in every event.
  const tokenizer = server.models.get('smollm2')!.model.tokenizer;
  const wide = [...Array(tokenizer.vocabSize).keys()].find((id) => {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    try {
      return /^[\u0400-\u04ff\u4e00-\u9fff]+$/.test(text.decode(tokenizer.tokenToBytes(id)));
    } catch {
      return false;
    }
  })!;
  const body = JSON.stringify({ model: 'smollm2', prompt: 'Hi', max_tokens: 4, temperature: 0, stream: true, logit_bias: { [wide]: 100 } });
  const request = `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const responses = await rawExchanges([request, request]);
  for (const bytes of responses) {
    const headEnd = bytes.indexOf('\r\n\r\n');
    assert.match(bytes.toString('latin1', 0, headEnd), /^HTTP\/1\.1 200 .*transfer-encoding: chunked/is);
    let at = headEnd + 4;
    const events: string[] = [];
    for (;;) {
      const lineEnd = bytes.indexOf('\r\n', at);
      const size = parseInt(bytes.toString('latin1', at, lineEnd), 16);
      at = lineEnd + 2;
      if (size === 0) break;
      events.push(bytes.toString('utf8', at, at + size));
      assert.equal(bytes.toString('latin1', at + size, at + size + 2), '\r\n', 'a chunk ends where its size says');
      at += size + 2;
    }
    assert.equal(bytes.length, at + 2, 'nothing after the last chunk');
    for (const e of events) assert.match(e, /^data: [^\n]+\n\n$/, 'each chunk is one whole event');
    assert.equal(events.pop(), 'data: [DONE]\n\n');
    const text = events.map((e) => JSON.parse(e.slice(6)).choices[0].text).join('');
    assert.equal(text, tokenizer.detokenize(Array(4).fill(wide), { stripLeadingSpace: false }));
    assert.ok(Buffer.byteLength(text) > text.length, 'the text is not ASCII');
  }
});

test('a client that disconnects mid-stream stops its generation and frees its KV', async () => {
  const stats = () => server.models.get('smollm2')!.scheduler.stats();
  const freeBefore = stats().kvBlocksFree;
  await new Promise<void>((resolve, reject) => {
    const req = http.request(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let events = 0;
      res.on('data', (d: Buffer) => {
        events += d.toString().split('\n\n').length - 1;
        if (events >= 3) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', () => {});
    req.end(JSON.stringify({ model: 'smollm2', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1000, temperature: 0, stream: true }));
    setTimeout(() => reject(new Error('no events')), 10000).unref();
  });
  // The engine stops within a step: its step counter settles at once and the KV space comes back.
  await new Promise((r) => setTimeout(r, 100));
  const settled = engineSteps(server, 'smollm2');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(engineSteps(server, 'smollm2'), settled);
  assert.ok(settled < 30, `the engine ran ${settled} steps`);
  assert.equal(stats().kvBlocksFree, freeBefore);
  assert.equal(stats().runningSequences, 0);
});

test('many concurrent clients are queued, each gets its own answer', async () => {
  const prompts = ['Once upon a time', 'The dog', 'A little girl', 'One day', 'The sun', 'Tom and Ben'];
  const ask = (prompt: string) => postJson(`${server.url}/v1/completions`, { model: 'stories', prompt, max_tokens: 12, temperature: 0 });
  const alone: string[] = [];
  for (const p of prompts) alone.push((await ask(p)).json.choices[0].text);
  const together = await Promise.all([...prompts, ...prompts].map(ask));
  together.forEach((r, i) => assert.equal(r.json.choices[0].text, alone[i % prompts.length]));
});

test('x-request-id is honoured or generated, and responses validate against the contract', async () => {
  const res = await fetch(`${server.url}/v1/models`, { headers: { 'x-request-id': 'my-trace-123' } });
  assert.equal(res.headers.get('x-request-id'), 'my-trace-123');
  assertMatchesSchema('ModelList', await res.json());
  const gen = await fetch(`${server.url}/health`);
  assert.match(gen.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  assertMatchesSchema('Health', await gen.json());
  const model = await fetch(`${server.url}/v1/models/stories`);
  assertMatchesSchema('Model', await model.json());
  const emb = await postJson(`${server.url}/v1/embeddings`, { model: 'stories', input: ['a', 'b'], encoding_format: 'base64' });
  assertMatchesSchema('EmbeddingList', emb.json);
  const cmpl = await postJson(`${server.url}/v1/completions`, { model: 'stories', prompt: 'Once', max_tokens: 3, logprobs: 2 });
  assertMatchesSchema('Completion', cmpl.json);
  const tok = await postJson(`${server.url}/tokenize`, { content: 'Hello', with_pieces: true });
  assertMatchesSchema('TokenizeResponse', tok.json);
  const detok = await postJson(`${server.url}/detokenize`, { tokens: (await postJson(`${server.url}/tokenize`, { content: 'Hello world' })).json.tokens });
  assertMatchesSchema('DetokenizeResponse', detok.json);
  assert.equal(detok.json.content, 'Hello world');
});

test('/metrics exports requests, tokens, latency histograms, queue and KV gauges', async () => {
  /** Streams a chat completion; returns its completion_tokens (from the usage chunk). */
  const streamed = async () => {
    const body = { model: 'stories', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, stream: true, stream_options: { include_usage: true } };
    const events = (await rawPost('/v1/chat/completions', body)).text.split('\n\n').filter(Boolean);
    return JSON.parse(events[events.length - 2].slice('data: '.length)).usage.completion_tokens as number;
  };
  const chatCount = (metrics: string) => Number(/omni_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  const generated = (metrics: string) => Number(/omni_generated_tokens_total\{model="stories"\} (\d+)/.exec(metrics)?.[1]);
  await streamed();
  const first = await (await fetch(`${server.url}/metrics`)).text();
  const streamedTokens = await streamed();
  const cmpl = await postJson(`${server.url}/v1/completions`, { model: 'stories', prompt: 'Once', max_tokens: 3, n: 2 });
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.equal(chatCount(text), chatCount(first) + 1, 'a streamed response is counted too');
  assert.match(text, /omni_http_requests_total\{route="\/v1\/completions",method="POST",status="200"\} \d+/);
  assert.equal(generated(text), generated(first) + streamedTokens + cmpl.json.usage.completion_tokens, 'every generated token is counted');
  assert.match(text, /omni_prompt_tokens_total\{model="stories"\} \d+/);
  assert.match(text, /omni_time_to_first_token_seconds_bucket\{le="0.1",model="stories"\} \d+/);
  assert.match(text, /omni_inter_token_latency_seconds_count\{model="stories"\} [1-9]/);
  assert.match(text, /omni_queue_depth\{model="stories"\} 0/);
  assert.match(text, /omni_running_sequences\{model="smollm2"\} 0/);
  assert.match(text, /omni_waiting_sequences\{model="smollm2"\} 0/);
  assert.match(text, /omni_kv_blocks_total\{model="stories"\} [1-9]/);
  assert.match(text, /omni_kv_blocks_free\{model="stories"\} [1-9]/);
  assert.match(text, /omni_prefix_cache_queries_total\{model="stories"\} [1-9]/);
  assert.match(text, /omni_prefix_cache_hits_total\{model="stories"\} \d+/);
  assert.match(text, /omni_preemptions_total\{model="stories"\} 0/);
  assert.match(text, /omni_step_seconds_count\{model="stories"\} [1-9]/);
  assert.match(text, /omni_step_tokens_bucket\{le="1",model="stories"\} \d+/);
  assert.match(text, /omni_step_sequences_sum\{model="stories"\} [1-9]/);
});
