// npm run bench:engine -- --model FILE --threads N [--reps R] [--json]
// Prompt processing (512 tokens) and generation (128 tokens) of Omni's engine and of
// node-llama-cpp on the same file and thread count, alternating engines, medians of several
// repetitions; plus this machine's read bandwidth and the decode roofline it implies.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';
import { createContext, loadModel, type NativeContext } from '../src/engine/native.js';

const PP = 512;
const TG = 128;

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    threads: { type: 'string', default: '2' },
    reps: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
if (!values.model) {
  console.error('usage: npm run bench:engine -- --model FILE --threads N [--reps R] [--json]');
  process.exit(2);
}
const modelPath = path.resolve(values.model);
const threads = Number(values.threads);
const reps = Number(values.reps);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Deterministic "random" prompt of valid, ordinary token ids. */
function promptTokens(nVocab: number): number[] {
  let s = 12345;
  return Array.from({ length: PP }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return 200 + (s % Math.min(nVocab - 200, 30000));
  });
}

// ---- Omni -------------------------------------------------------------------------------
const model = await loadModel(modelPath);
const info = model.info();
const hp = info.hparams!;
const prompt = promptTokens(hp.nVocab);
const ctx: NativeContext = createContext(model, { threads, kvTokens: PP + TG + 64 });

async function omniPP(): Promise<number> {
  ctx.free(0);
  const t0 = performance.now();
  await ctx.step([{ seq: 0, tokens: prompt, pos: 0 }]);
  return PP / ((performance.now() - t0) / 1000);
}

async function omniTG(): Promise<number> {
  ctx.free(0);
  let [r] = await ctx.step([{ seq: 0, tokens: prompt.slice(0, 8), pos: 0, sample: true, sampling: { temperature: 0 } }]);
  const t0 = performance.now();
  for (let i = 0; i < TG; i++) [r] = await ctx.step([{ seq: 0, tokens: [r.token!], pos: 8 + i, sample: true }]);
  return TG / ((performance.now() - t0) / 1000);
}

// ---- node-llama-cpp ----------------------------------------------------------------------
const llama: Llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never', maxThreads: 0 });
const lmodel: LlamaModel = await llama.loadModel({ modelPath });

async function llamaRun(nThreads: number, what: 'pp' | 'tg'): Promise<number> {
  const lctx = await lmodel.createContext({ contextSize: PP + TG + 64, batchSize: PP, threads: { ideal: nThreads, min: nThreads } });
  try {
    const seq = lctx.getSequence();
    if (what === 'pp') {
      const t0 = performance.now();
      await seq.evaluateWithoutGeneratingNewTokens(prompt as Token[]);
      return PP / ((performance.now() - t0) / 1000);
    }
    let t0 = 0;
    let n = 0;
    for await (const _ of seq.evaluate(prompt.slice(0, 8) as Token[], { temperature: 0 })) {
      if (n === 0) t0 = performance.now();  // the first token comes from the prompt pass
      if (++n > TG) break;
    }
    return TG / ((performance.now() - t0) / 1000);
  } finally {
    await lctx.dispose();
  }
}

// ---- bandwidth ---------------------------------------------------------------------------
function readBandwidth(nThreads: number): number {
  const bin = path.resolve(import.meta.dirname, '..', 'build', 'native', 'tests', 'membw_bench');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build:native`);
  const out = execFileSync(bin, [String(nThreads), '1024', '5'], { encoding: 'utf8' });
  return Number(/read_gbps ([\d.]+)/.exec(out)![1]);
}

// ---- run, alternating ------------------------------------------------------------------
const samples = { omniPP: [] as number[], omniTG: [] as number[], llamaPP: [] as number[], llamaTG: [] as number[], llamaTG1: [] as number[] };
await omniTG(); // warm-up: page in the weights, spin up threads
await llamaRun(threads, 'tg');
for (let r = 0; r < reps; r++) {
  samples.omniPP.push(await omniPP());
  samples.llamaPP.push(await llamaRun(threads, 'pp'));
  samples.omniTG.push(await omniTG());
  samples.llamaTG.push(await llamaRun(threads, 'tg'));
  samples.llamaTG1.push(await llamaRun(1, 'tg'));
}
const readGbps = readBandwidth(threads);
const weightBytes = info.weightBytes!;
const tgBound = (readGbps * 1e9) / weightBytes;

const omni = { pp512: median(samples.omniPP), tg128: median(samples.omniTG) };
const llamacpp = { pp512: median(samples.llamaPP), tg128: median(samples.llamaTG), tg128_1t: median(samples.llamaTG1) };
const result = {
  model: path.basename(modelPath),
  threads,
  omni,
  llamacpp,
  ratio: { pp512: omni.pp512 / llamacpp.pp512, tg128: omni.tg128 / Math.max(llamacpp.tg128, llamacpp.tg128_1t) },
  roofline: { read_gbps: readGbps, weight_bytes: weightBytes, tg_bound: tgBound, fraction: omni.tg128 / tgBound },
};

const f = (x: number) => x.toFixed(1).padStart(8);
console.log(`\n${result.model}, ${threads} thread(s), ${reps} repetitions (medians), backend ${ctx.stats().backend}`);
console.log(`                    pp${PP} tok/s   tg${TG} tok/s`);
console.log(`omni                ${f(omni.pp512)}      ${f(omni.tg128)}`);
console.log(`node-llama-cpp      ${f(llamacpp.pp512)}      ${f(llamacpp.tg128)}   (1 thread: ${llamacpp.tg128_1t.toFixed(1)})`);
console.log(`ratio               ${f(result.ratio.pp512)}      ${f(result.ratio.tg128)}   (tg vs llama.cpp's better figure)`);
console.log(
  `roofline            ${readGbps.toFixed(1)} GB/s read / ${(weightBytes / 1e6).toFixed(1)} MB per token = ` +
    `${tgBound.toFixed(1)} tok/s; omni reaches ${(result.roofline.fraction * 100).toFixed(0)}%`,
);
if (values.json) console.log(JSON.stringify(result));
ctx.dispose();
await lmodel.dispose();
process.exit(0);
