// API keys and CORS.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { postJson, startServer, testModelSpecs, type TestServer } from '../helpers/server.js';

const KEY = 'sk-test-123';
let open: TestServer;
let locked: TestServer;

before(async () => {
  const [stories] = await testModelSpecs();
  open = await startServer([stories], ['--cors-origin', 'https://app.example']);
  locked = await startServer([stories], ['--api-key', KEY, '--api-key', 'second-key', '--cors-origin', '*']);
});
after(async () => {
  await open.close();
  await locked.close();
});

const body = { model: 'stories', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 };

test('without configured keys no key is needed', async () => {
  const r = await open.client().chat.completions.create(body as never);
  assert.equal(r.object, 'chat.completion');
});

test('with keys: Bearer and X-Api-Key work, a missing or wrong key is 401', async () => {
  const ok = await locked.client(KEY).chat.completions.create(body as never);
  assert.equal(ok.object, 'chat.completion');
  assert.equal((await postJson(`${locked.url}/v1/chat/completions`, body, { 'x-api-key': 'second-key' })).status, 200);
  await assert.rejects(locked.client('sk-wrong').chat.completions.create(body as never), (err: any) => err.status === 401 && err.code === 'invalid_api_key');
  const missing = await postJson(`${locked.url}/v1/chat/completions`, body);
  assert.equal(missing.status, 401);
  assert.equal(missing.json.error.code, 'missing_api_key');
  assert.equal((await fetch(`${locked.url}/metrics`)).status, 401);
  assert.equal((await postJson(`${locked.url}/tokenize`, { content: 'x' })).status, 401);
});

test('with keys: /health and /v1/models stay open', async () => {
  assert.equal((await fetch(`${locked.url}/health`)).status, 200);
  assert.equal((await fetch(`${locked.url}/v1/models`)).status, 200);
  assert.equal((await fetch(`${locked.url}/v1/models/stories`)).status, 200);
});

test('a CORS preflight passes without a key; allowed origins only', async () => {
  const preflight = await fetch(`${locked.url}/v1/chat/completions`, {
    method: 'OPTIONS',
    headers: { origin: 'https://anywhere.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
  assert.ok(preflight.status === 204 || preflight.status === 200, `status ${preflight.status}`);
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://anywhere.example');
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);

  const allowed = await fetch(`${open.url}/v1/models`, { headers: { origin: 'https://app.example' } });
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.match(allowed.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
  const other = await fetch(`${open.url}/v1/models`, { headers: { origin: 'https://evil.example' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);

  // A stream is written straight to the socket: it must carry the same headers.
  const stream = await fetch(`${open.url}/v1/completions`, {
    method: 'POST',
    headers: { origin: 'https://app.example', 'content-type': 'application/json', 'x-request-id': 'trace-stream-1' },
    body: JSON.stringify({ model: 'stories', prompt: 'Once', max_tokens: 2, stream: true }),
  });
  assert.equal(stream.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.equal(stream.headers.get('x-request-id'), 'trace-stream-1');
  assert.match(await stream.text(), /data: \[DONE\]\n\n$/);
});
