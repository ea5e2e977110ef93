// openapi.yaml, the HTTP contract: it parses, its refs resolve, the generated types are current,
// and its schemas accept what the server is meant to send and reject what it must not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertMatchesSchema, openapiDocument, schemaNames } from '../helpers/openapi-contract.js';
import { repoRoot, tempDir } from '../helpers/paths.js';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function operations(): { route: string; method: string; op: Record<string, any> }[] {
  const out = [];
  for (const [route, item] of Object.entries(openapiDocument().paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as Record<string, any> | undefined;
      if (op) out.push({ route, method, op });
    }
  }
  return out;
}

/** Follows a local JSON pointer (`#/a/b`) through the document; undefined when it leads nowhere. */
function resolvePointer(ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `only local refs are used: ${ref}`);
  let node: unknown = openapiDocument();
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function allRefs(node: unknown, at = '#', out: { at: string; ref: string }[] = []) {
  if (Array.isArray(node)) node.forEach((v, i) => allRefs(v, `${at}/${i}`, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push({ at, ref: v });
      else allRefs(v, `${at}/${k}`, out);
    }
  }
  return out;
}

function assertRejected(schemaName: string, value: unknown, pattern?: RegExp) {
  assert.throws(() => assertMatchesSchema(schemaName, value), (e: unknown) => {
    assert.ok(e instanceof assert.AssertionError, `expected an AssertionError, got ${String(e)}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe('the document', () => {
  test('generated src/server/openapi-types.ts is up to date (npm run gen:types)', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    const script: string = pkg.scripts['gen:types'];
    const args = script.split(/\s+/);
    assert.equal(args.shift(), 'openapi-typescript', script);
    const out = args.indexOf('-o') + 1;
    assert.ok(out > 0, `gen:types names its output with -o: ${script}`);
    const committed = path.join(repoRoot, args[out]!);
    const fresh = path.join(tempDir('omni-openapi-'), 'openapi-types.ts');
    args[out] = fresh;

    const bin = path.join(repoRoot, 'node_modules', '.bin', 'openapi-typescript');
    const r = spawnSync(bin, args, { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 0, `openapi-typescript failed:\n${r.stdout}\n${r.stderr}`);
    assert.ok(
      readFileSync(fresh, 'utf8') === readFileSync(committed, 'utf8'),
      `${path.relative(repoRoot, committed)} is stale; run \`npm run gen:types\` and commit the result`,
    );
  });

  test('is OpenAPI 3.1 with the schemas routes import', () => {
    assert.match(openapiDocument().openapi, /^3\.1\.\d+$/);
    const names = new Set(schemaNames());
    for (const name of [
      'ErrorResponse', 'Health', 'Model', 'ModelList',
      'ChatCompletionRequest', 'ChatMessage', 'ChatCompletion', 'ChatLogprobs', 'ChatCompletionChunk', 'Usage',
      'CompletionRequest', 'Completion', 'CompletionChunk', 'CompletionLogprobs',
      'EmbeddingRequest', 'EmbeddingList',
      'TokenizeRequest', 'TokenizeResponse', 'DetokenizeRequest', 'DetokenizeResponse',
      'WsClientMessage', 'WsServerMessage',
    ]) {
      assert.ok(names.has(name), `components/schemas/${name} is missing`);
    }
  });

  test('every $ref resolves', () => {
    const refs = allRefs(openapiDocument());
    assert.ok(refs.length > 50, `expected many refs, found ${refs.length}`);
    const broken = refs.filter(({ ref }) => resolvePointer(ref) === undefined);
    assert.deepEqual(broken, []);
  });

  test('every schema compiles (each rejects undefined with an AssertionError)', () => {
    for (const name of schemaNames()) assertRejected(name, undefined);
  });

  test('every operation has responses, each with x-request-id', () => {
    const ops = operations();
    assert.ok(ops.length >= 10, `expected at least 10 operations, found ${ops.length}`);
    for (const { route, method, op } of ops) {
      const responses = Object.entries(op.responses ?? {});
      assert.ok(responses.length > 0, `${method.toUpperCase()} ${route} has no responses`);
      for (const [status, response] of responses) {
        const resolved = (response as any).$ref ? resolvePointer((response as any).$ref) : response;
        assert.ok((resolved as any)?.headers?.['x-request-id'], `${method.toUpperCase()} ${route} ${status} lacks x-request-id`);
      }
    }
  });

  test('every POST lists the shared error responses', () => {
    for (const { route, method, op } of operations()) {
      if (method !== 'post') continue;
      for (const status of ['400', '401', '404', '413', '429', '500', '503']) {
        const ref = op.responses[status]?.$ref as string | undefined;
        assert.ok(ref?.startsWith('#/components/responses/'), `POST ${route} ${status} is not a shared response`);
        const schema = (resolvePointer(ref!) as any).content['application/json'].schema;
        assert.equal(schema.$ref, '#/components/schemas/ErrorResponse', `POST ${route} ${status}`);
      }
    }
  });

  test('streaming operations offer JSON and text/event-stream', () => {
    for (const [route, json, chunk] of [
      ['/v1/chat/completions', 'ChatCompletion', 'ChatCompletionChunk'],
      ['/v1/completions', 'Completion', 'CompletionChunk'],
    ] as const) {
      const content = (openapiDocument().paths[route] as any).post.responses['200'].content;
      assert.equal(content['application/json'].schema.$ref, `#/components/schemas/${json}`);
      assert.equal(content['text/event-stream'].schema.$ref, `#/components/schemas/${chunk}`);
    }
  });

  test('keys are optional only on health and models; globally bearer or X-Api-Key', () => {
    const doc = openapiDocument() as any;
    assert.deepEqual(doc.security, [{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    assert.deepEqual(doc.components.securitySchemes.bearerAuth, { ...doc.components.securitySchemes.bearerAuth, type: 'http', scheme: 'bearer' });
    assert.deepEqual(doc.components.securitySchemes.apiKeyHeader, {
      ...doc.components.securitySchemes.apiKeyHeader, type: 'apiKey', in: 'header', name: 'X-Api-Key',
    });
    const open = operations().filter(({ op }) => Array.isArray(op.security) && op.security.length === 0);
    assert.deepEqual(open.map(({ route }) => route).sort(), ['/health', '/v1/models', '/v1/models/{model}']);
  });
});

// ------------------------------------------------------------------------------------------ values

const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, prompt_tokens_details: { cached_tokens: 0 } };
const head = { id: 'chatcmpl-1', created: 1_700_000_000, model: 'stories260K', system_fingerprint: 'omni-0.1.0' };

const chatLogprobs = {
  content: [
    {
      token: ' the', logprob: -0.25, bytes: [32, 116, 104, 101],
      top_logprobs: [{ token: ' the', logprob: -0.25, bytes: [32, 116, 104, 101] }, { token: ' a', logprob: -1.6, bytes: null }],
    },
  ],
  refusal: null,
};

const chatCompletion = {
  ...head,
  object: 'chat.completion',
  choices: [
    { index: 0, message: { role: 'assistant', content: 'Once upon a time', refusal: null }, logprobs: null, finish_reason: 'length' },
    { index: 1, message: { role: 'assistant', content: '', refusal: null }, logprobs: chatLogprobs, finish_reason: 'stop' },
  ],
  usage,
};

const chunk = (choices: Json[], u: Json = null) => ({ ...head, object: 'chat.completion.chunk', choices, usage: u });

const completion = {
  ...head,
  id: 'cmpl-1',
  object: 'text_completion',
  choices: [
    {
      index: 0, text: ' there was',
      logprobs: { tokens: [' there', ' was'], token_logprobs: [-0.5, -0.1], top_logprobs: [{ ' there': -0.5 }, { ' was': -0.1 }], text_offset: [0, 6] },
      finish_reason: 'length',
    },
  ],
  usage,
};

describe('assertMatchesSchema', () => {
  test('accepts a ChatCompletion', () => {
    assertMatchesSchema('ChatCompletion', chatCompletion);
  });

  test('accepts the ChatCompletionChunks of a stream, including the final usage chunk', () => {
    assertMatchesSchema('ChatCompletionChunk', chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
    assertMatchesSchema('ChatCompletionChunk', chunk([{ index: 0, delta: { content: 'Once' }, logprobs: chatLogprobs, finish_reason: null }]));
    assertMatchesSchema('ChatCompletionChunk', chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
    assertMatchesSchema('ChatCompletionChunk', chunk([], usage));
  });

  test('accepts a Completion and its chunks, with echo-style null logprobs', () => {
    assertMatchesSchema('Completion', completion);
    assertMatchesSchema('Completion', {
      ...completion,
      choices: [{
        index: 0, text: 'Hi there', finish_reason: 'stop',
        logprobs: { tokens: ['Hi', ' there'], token_logprobs: [null, -0.3], top_logprobs: [null, { ' there': -0.3 }], text_offset: [0, 2] },
      }],
    });
    assertMatchesSchema('CompletionChunk', { ...completion, choices: [{ index: 0, text: ' there', logprobs: null, finish_reason: null }], usage: null });
    assertMatchesSchema('CompletionChunk', { ...completion, choices: [], usage });
  });

  test('accepts EmbeddingLists as floats and as base64', () => {
    const list = (embedding: Json) => ({
      object: 'list', data: [{ object: 'embedding', index: 0, embedding }], model: 'nomic', usage: { prompt_tokens: 4, total_tokens: 4 },
    });
    assertMatchesSchema('EmbeddingList', list([0.1, -0.2, 0.3]));
    assertMatchesSchema('EmbeddingList', list(Buffer.from(new Float32Array([0.1, -0.2]).buffer).toString('base64')));
  });

  test('accepts ErrorResponses', () => {
    assertMatchesSchema('ErrorResponse', { error: { message: 'The model `x` does not exist.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });
    assertMatchesSchema('ErrorResponse', { error: { message: 'Too many requests', type: 'server_error', param: null, code: null } });
  });

  test('accepts both TokenizeResponse forms', () => {
    assertMatchesSchema('TokenizeResponse', { tokens: [1, 15043, 3186] });
    assertMatchesSchema('TokenizeResponse', { tokens: [{ id: 15043, piece: 'Hello' }, { id: 240, piece: [240] }] });
    assertMatchesSchema('TokenizeResponse', { tokens: [] });
  });

  test('accepts requests and WebSocket messages', () => {
    const body = {
      model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], temperature: 0, stop: ['\n'],
      max_tokens: null, logit_bias: { '42': -100 }, stream: true, stream_options: { include_usage: true }, some_unknown_field: 1,
    };
    assertMatchesSchema('ChatCompletionRequest', body);
    assertMatchesSchema('CompletionRequest', { model: 'm', prompt: [[1, 2], [3]], logprobs: 5, echo: true });
    assertMatchesSchema('EmbeddingRequest', { model: 'm', input: ['a', 'b'], encoding_format: 'base64' });
    assertMatchesSchema('WsClientMessage', { id: 'r1', type: 'chat.completions', body });
    assertMatchesSchema('WsClientMessage', { id: 'r1', type: 'cancel' });
    assertMatchesSchema('WsServerMessage', { id: 'r1', type: 'chunk', data: chunk([], usage) });
    assertMatchesSchema('WsServerMessage', { id: 'r1', type: 'done' });
    assertMatchesSchema('WsServerMessage', { id: 'r1', type: 'error', error: { message: 'm', type: 't', param: null, code: null } });
  });

  test('rejects a completion without choices, naming the missing field', () => {
    const { choices: _, ...rest } = chatCompletion;
    assertRejected('ChatCompletion', rest, /choices/);
    const { choices: __, ...restCompletion } = completion;
    assertRejected('Completion', restCompletion, /choices/);
  });

  test("rejects finish_reason 'bogus'", () => {
    const bogus = { ...chatCompletion.choices[0]!, finish_reason: 'bogus' };
    assertRejected('ChatCompletion', { ...chatCompletion, choices: [bogus] }, /finish_reason/);
    assertRejected('ChatCompletionChunk', chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'bogus' }]), /finish_reason/);
    assertRejected('Completion', { ...completion, choices: [{ ...completion.choices[0]!, finish_reason: 'bogus' }] }, /finish_reason/);
  });

  test('rejects an error without a message', () => {
    assertRejected('ErrorResponse', { error: { type: 'invalid_request_error', param: null, code: null } }, /message/);
  });

  test('rejects other clearly wrong values', () => {
    assertRejected('ChatCompletion', { ...chatCompletion, object: 'chat.completion.chunk' });
    assertRejected('ChatCompletionChunk', { ...chunk([]), usage: { prompt_tokens: 1 } }, /usage/);
    assertRejected('EmbeddingList', { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [1, 'x'] }], model: 'm', usage: { prompt_tokens: 1, total_tokens: 1 } });
    assertRejected('TokenizeResponse', { tokens: [{ id: 1 }] });
    assertRejected('ChatCompletionRequest', { model: 'm', messages: [] }, /messages/);
    assertRejected('ChatCompletionRequest', { model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 3 }, /temperature/);
    assertRejected('CompletionRequest', { model: 'm', prompt: 'x', logprobs: true }, /logprobs/);
    assertRejected('WsServerMessage', { id: 'r1', type: 'chunk' });
  });

  test('an unknown schema name is a plain error that lists the known ones', () => {
    assert.throws(() => assertMatchesSchema('NoSuchSchema', {}), /no schema named "NoSuchSchema".*ChatCompletion/);
  });
});
