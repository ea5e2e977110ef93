// WebSocket /v1/ws: several chat completions on one socket, cancel, and close.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { assertMatchesSchema } from '../helpers/openapi-contract.js';
import { engineSteps, postJson, startServer, testModelSpecs, type TestServer } from '../helpers/server.js';

let server: TestServer;

before(async () => {
  server = await startServer(await testModelSpecs());
});
after(() => server.close());

function connect(): Promise<{ ws: WebSocket; messages: any[]; next(pred: (m: any) => boolean): Promise<any> }> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`);
  const messages: any[] = [];
  const waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    messages.push(m);
    for (const w of waiters.splice(0)) if (w.pred(m)) w.resolve(m); else waiters.push(w);
  });
  const next = (pred: (m: any) => boolean) =>
    new Promise<any>((resolve) => {
      const seen = messages.find(pred);
      if (seen) resolve(seen);
      else waiters.push({ pred, resolve });
    });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, next }));
    ws.once('error', reject);
  });
}

const request = (prompt: string, maxTokens: number) => ({
  model: 'stories', messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, temperature: 0,
});
const textOf = (messages: any[], id: string) =>
  messages.filter((m) => m.id === id && m.type === 'chunk').map((m) => m.data.choices[0]?.delta.content ?? '').join('');

test('two requests multiplexed on one socket each get the answer they get over HTTP', async () => {
  const { ws, messages, next } = await connect();
  ws.send(JSON.stringify({ id: 'a', type: 'chat.completions', body: request('Once upon a time', 10) }));
  ws.send(JSON.stringify({ id: 'b', type: 'chat.completions', body: { ...request('The dog', 8), stream_options: { include_usage: true } } }));
  await next((m) => m.id === 'a' && m.type === 'done');
  await next((m) => m.id === 'b' && m.type === 'done');
  for (const m of messages.filter((x) => x.type === 'chunk')) assertMatchesSchema('WsServerMessage', m);
  const httpA = await postJson(`${server.url}/v1/chat/completions`, request('Once upon a time', 10));
  const httpB = await postJson(`${server.url}/v1/chat/completions`, request('The dog', 8));
  assert.equal(textOf(messages, 'a'), httpA.json.choices[0].message.content);
  assert.equal(textOf(messages, 'b'), httpB.json.choices[0].message.content);
  const usage = messages.filter((m) => m.id === 'b' && m.type === 'chunk').at(-1);
  assert.equal(usage.data.usage.completion_tokens, 8);
  ws.close();
});

test('a bad message or body is an error for that id only', async () => {
  const { ws, next } = await connect();
  ws.send('{nope');
  const bad = await next((m) => m.type === 'error' && m.id === null);
  assert.match(bad.error.message, /JSON/);
  ws.send(JSON.stringify({ id: 'x', type: 'chat.completions', body: { model: 'stories', messages: [], max_tokens: 1 } }));
  const invalid = await next((m) => m.id === 'x');
  assert.equal(invalid.type, 'error');
  assert.equal(invalid.error.param, 'messages');
  assertMatchesSchema('WsServerMessage', invalid);
  ws.send(JSON.stringify({ id: 'y', type: 'chat.completions', body: request('Hi', 2) }));
  assert.equal((await next((m) => m.id === 'y' && (m.type === 'done' || m.type === 'error'))).type, 'done');
  ws.close();
});

test('cancel stops one request; closing the socket stops the rest', async () => {
  const { ws, messages, next } = await connect();
  const long = { ...request('Tell me a long story', 1500), model: 'smollm2' };
  ws.send(JSON.stringify({ id: 'long', type: 'chat.completions', body: long }));
  ws.send(JSON.stringify({ id: 'short', type: 'chat.completions', body: request('Hi', 4) }));
  await next((m) => m.id === 'long' && m.type === 'chunk' && m.data.choices[0]?.delta.content);
  ws.send(JSON.stringify({ id: 'long', type: 'cancel' }));
  const ended = await next((m) => m.id === 'long' && m.type === 'done');
  assert.equal(ended.cancelled, true);
  const longTokens = messages.filter((m) => m.id === 'long' && m.type === 'chunk').length;
  assert.ok(longTokens < 200, `${longTokens} chunks before the cancel took effect`);
  // The short request, queued behind, still completes.
  await next((m) => m.id === 'short' && m.type === 'done');

  ws.send(JSON.stringify({ id: 'again', type: 'chat.completions', body: long }));
  await next((m) => m.id === 'again' && m.type === 'chunk' && m.data.choices[0]?.delta.content);
  ws.close();
  await new Promise((r) => setTimeout(r, 150));
  const settled = engineSteps(server, 'smollm2');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(engineSteps(server, 'smollm2'), settled);
  assert.equal(server.models.get('smollm2')!.scheduler.stats().runningSequences, 0);
});
