// npm run bench:server -- --model FILE [--threads N] [--tokens N] [--reps R] [--json]
// Single-stream generation through the HTTP server (SSE, read by sse-client.ts in this process)
// versus the engine called directly, on the same loaded model, in alternating runs; plus the
// time to first token the HTTP path adds, and node-llama-cpp's generation on the same file.
// This machine's speed drifts from second to second, so the ratio is the median of the HTTP
// runs' ratios, each to the engine runs just before and after it, rather than a ratio of medians.
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { loadConfig } from '../src/config.js';
import { generate } from '../src/engine/generate.js';
import { LoadedModel } from '../src/engine/loaded-model.js';
import { createContext } from '../src/engine/native.js';
import { Metrics } from '../src/observability/metrics.js';
import { buildApp } from '../src/server/app.js';
import { ServedModels } from '../src/server/served-models.js';
import { isContentChunk, streamCompletion } from './sse-client.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    threads: { type: 'string', default: '2' },
    tokens: { type: 'string', default: '128' },
    reps: { type: 'string', default: '15' },
    json: { type: 'boolean', default: false },
  },
});
if (!values.model) {
  console.error('usage: npm run bench:server -- --model FILE [--threads N] [--tokens N] [--reps R] [--json]');
  process.exit(2);
}
const modelPath = path.resolve(values.model);
const threads = Number(values.threads);
const tokens = Number(values.tokens);
const reps = Number(values.reps);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Run {
  ttftMs: number;
  tps: number;
}

const model = await LoadedModel.load(modelPath);
const prompt = model.tokenizer.tokenize('Write a long story about a lighthouse keeper and the sea.', { addSpecial: true });
// Ban end-of-generation so every run makes exactly `tokens` tokens.
const banEog = Object.fromEntries(model.tokenizer.endOfGenerationIds.map((id) => [String(id), -100]));

// ---- the engine, called directly ---------------------------------------------------------
const ctx = createContext(model.native, { threads, kvTokens: prompt.length + tokens + 64 });
async function engineRun(): Promise<Run> {
  const t0 = performance.now();
  let first = 0;
  let n = 0;
  const sampling = { temperature: 0, logitBias: Object.entries(banEog).map(([id, b]) => [Number(id), b] as [number, number]) };
  for await (const piece of generate(model, ctx, prompt, { maxTokens: tokens, sampling, stopAtEog: false })) {
    if (piece.token === null) continue;
    if (n++ === 0) first = performance.now();
  }
  const end = performance.now();
  return { ttftMs: first - t0, tps: (n - 1) / ((end - first) / 1000) };
}

// ---- the HTTP server, SSE ------------------------------------------------------------------
const config = loadConfig(['--port', '0', '--log-level', 'silent', '--threads', String(threads)], {});
const models = new ServedModels(config, new Metrics());
models.add({ name: 'bench', path: modelPath }, model);
const app = await buildApp(config, models, new Metrics());
await app.listen({ host: '127.0.0.1', port: 0 });
const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

/** Streams one completion with the lean client (its parsing shares this machine's cores). */
async function httpRun(): Promise<Run> {
  const body = { model: 'bench', prompt, max_tokens: tokens, temperature: 0, logit_bias: banEog };
  const t0 = performance.now();
  let first = 0;
  let n = 0;
  await streamCompletion(baseUrl, body, (chunk) => {
    if (isContentChunk(chunk) && n++ === 0) first = performance.now();
  });
  const done = performance.now();
  if (n < tokens * 0.9) throw new Error(`the server streamed ${n} chunks for ${tokens} tokens`);
  return { ttftMs: first - t0, tps: (n - 1) / ((done - first) / 1000) };
}

// ---- node-llama-cpp, the same prompt and token count ---------------------------------------
async function llamaRuns(): Promise<number[]> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never' });
  const lmodel = await llama.loadModel({ modelPath });
  const out: number[] = [];
  for (const nThreads of [threads, 1]) {
    const lctx = await lmodel.createContext({ contextSize: prompt.length + tokens + 64, threads: { ideal: nThreads, min: nThreads } });
    for (let r = 0; r < reps; r++) {
      const seq = lctx.getSequence();
      let first = 0;
      let n = 0;
      for await (const _ of seq.evaluate(prompt as Token[], { temperature: 0 })) {
        if (n === 0) first = performance.now();
        if (++n >= tokens) break;
      }
      out.push((n - 1) / ((performance.now() - first) / 1000));
      seq.dispose();
    }
    await lctx.dispose();
  }
  await lmodel.dispose();
  return out;
}

await engineRun(); // warm-up: page in the weights, start the threads
await httpRun();
// Engine, HTTP, engine, HTTP, …, engine: each HTTP run is compared with the mean of the engine
// runs on either side of it, which cancels a steady drift of the machine's speed (compared
// with the run before it alone, a machine speeding up flattered the HTTP figure).
const engine: Run[] = [await engineRun()];
const viaHttp: Run[] = [];
for (let r = 0; r < reps; r++) {
  viaHttp.push(await httpRun());
  engine.push(await engineRun());
}
const httpRatios = viaHttp.map((r, i) => r.tps / ((engine[i].tps + engine[i + 1].tps) / 2));
await app.close();
await models.close(0);
ctx.dispose();
const llamaTps = Math.max(...(await llamaRuns()));

const engineTps = median(engine.map((r) => r.tps));
const httpTps = median(viaHttp.map((r) => r.tps));
const result = {
  model: path.basename(modelPath),
  threads,
  tokens,
  engine_tps: engineTps,
  http_tps: httpTps,
  ratio: median(httpRatios),
  ratio_spread: [Math.min(...httpRatios), Math.max(...httpRatios)],
  engine_ttft_ms: median(engine.map((r) => r.ttftMs)),
  http_ttft_ms: median(viaHttp.map((r) => r.ttftMs)),
  ttft_overhead_ms: median(viaHttp.map((r) => r.ttftMs)) - median(engine.map((r) => r.ttftMs)),
  llamacpp_tps: llamaTps,
  http_vs_llamacpp: httpTps / llamaTps,
};
const f = (x: number) => x.toFixed(1).padStart(8);
console.log(`\n${result.model}, ${threads} thread(s), ${tokens} tokens per run, ${reps} HTTP runs between ${reps + 1} engine runs (medians), prompt ${prompt.length} tokens`);
console.log('                         tok/s    first token ms');
console.log(`engine, direct        ${f(engineTps)}    ${f(result.engine_ttft_ms)}`);
console.log(`HTTP SSE              ${f(httpTps)}    ${f(result.http_ttft_ms)}`);
console.log(`ratio / overhead      ${result.ratio.toFixed(3).padStart(8)}    ${f(result.ttft_overhead_ms)}    (ratio: median of the HTTP runs' ratios to the engine runs around them)`);
console.log(`  those ratios: ${[...httpRatios].sort((a, b) => a - b).map((r) => r.toFixed(3)).join(' ')}`);
console.log(`node-llama-cpp        ${f(llamaTps)}    (its better of ${threads} and 1 thread; HTTP is ${result.http_vs_llamacpp.toFixed(2)}x)`);
if (values.json) console.log(JSON.stringify(result));
model.dispose();
process.exit(0);
