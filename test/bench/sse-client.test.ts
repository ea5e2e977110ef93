// The benchmarks' own SSE client: its figures are only as right as its reading of the stream.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { streamCompletion, type CompletionChunk } from '../../bench/sse-client.js';
import { ResponseReader } from '../../bench/sse-response.js';
import { postJson, startServer, type TestServer } from '../helpers/server.js';
import { stories260K } from '../helpers/paths.js';

let server: TestServer;

before(async () => {
  server = await startServer([{ name: 'stories', path: stories260K() }]);
});
after(() => server.close());

const connections = () => new Promise<number>((resolve, reject) => server.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

async function closeIdleConnections(): Promise<void> {
  server.app.server.closeIdleConnections();
  while ((await connections()) > 0) await new Promise((r) => setTimeout(r, 5));
}

test('reads every chunk of a stream, keeps the connection for the next request, and recovers when the server closed it', async () => {
  const body = { model: 'stories', prompt: 'Once upon a time', max_tokens: 12, temperature: 0 };
  const whole = await postJson(`${server.url}/v1/completions`, body);
  await closeIdleConnections(); // fetch's own
  for (let i = 0; i < 3; i++) {
    const chunks: CompletionChunk[] = [];
    await streamCompletion(server.url, { ...body, stream_options: { include_usage: true } }, (c) => chunks.push(c));
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), whole.json.choices[0].text);
    assert.equal(chunks.at(-1)!.usage!.completion_tokens, 12);
    assert.equal(await connections(), 1, 'one kept-alive connection');
    if (i === 1) await closeIdleConnections();
  }
});

test('an error status rejects with the status and the server message', async () => {
  await assert.rejects(streamCompletion(server.url, { model: 'nope', prompt: 'x' }, () => {}), /^Error: 404 .*nope/);
});

test('the response reader gives the same events however the bytes are split', () => {
  const events = ['{"text":"héllo 世界"}', '{"text":"🙂"}', '[DONE]'];
  const chunks = events.map((e) => Buffer.from(`data: ${e}\n\n`));
  const wire = Buffer.concat([
    Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'),
    ...chunks.flatMap((c) => [Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]),
    Buffer.from('0\r\n\r\n'),
  ]);
  for (let cut = 1; cut < wire.length; cut++) {
    const seen: string[] = [];
    let ended = 0;
    const reader = new ResponseReader({ event: (d) => seen.push(d), end: (status) => (ended = status) });
    reader.read(wire.toString('latin1', 0, cut));
    reader.read(wire.toString('latin1', cut));
    assert.deepEqual(seen, events, `split at byte ${cut}`);
    assert.equal(ended, 200);
  }
});
