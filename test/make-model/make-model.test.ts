import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getLlama, LlamaLogLevel, readGgufFileInfo, type Llama } from 'node-llama-cpp';
import { FILE_TYPES, tensorType } from '../../src/make-model/file-types.js';
import { defaultTokenizerDir, makeModel } from '../../src/make-model/make-model.js';
import { SHAPES } from '../../src/make-model/shapes.js';
import { quantizerProblem } from '../../src/make-model/tensor-encoding.js';
import { tensorLayout } from '../../src/make-model/tensor-layout.js';
import { isFloatType } from '../../src/make-model/tensor-types.js';

const dir = mkdtempSync(join(tmpdir(), 'omni-make-model-'));
const quantizerMissing = quantizerProblem();
const warnings: string[] = [];
let llama: Llama;

before(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.warn, logger: (level, message) => warnings.push(`${level}: ${message.trim()}`) });
});
after(async () => {
  await llama?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const PROMPT = 'The quick brown fox jumps over the lazy dog. Then it ran into the forest, where a small river flowed.';

/** Loads the model; returns 4 greedily generated tokens and, at each prompt position, the top-1 and its logit margin. */
async function runModel(path: string) {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const context = await model.createContext({ contextSize: 128, threads: 1 });
    const sequence = context.getSequence();
    const prompt = model.tokenize(PROMPT);
    const top2 = { logits: { filter: { tokens: [], includeTop: 2 } } };
    const results = await sequence.controlledEvaluate(prompt.map((t) => [t, { generateNext: top2 }]));
    const top = results.map((r) => {
      const [[token, first], [, second]] = [...r!.next!.logits!].sort((a, b) => b[1] - a[1]) as [number, number][];
      return { token: token!, margin: first! - second! };
    });
    await sequence.clearHistory();
    const generated: number[] = [];
    for await (const token of sequence.evaluate(model.tokenize('Hello world'), { temperature: 0 })) {
      generated.push(token);
      if (generated.length >= 4) break;
    }
    await context.dispose();
    return { generated, top };
  } finally {
    await model.dispose();
  }
}

describe('make-model: tiny in every type loads in node-llama-cpp', () => {
  let reference: Awaited<ReturnType<typeof runModel>>['top'];
  before(async () => {
    const path = join(dir, 'tiny-reference.gguf');
    await makeModel({ shape: 'tiny', type: 'f32', out: path });
    reference = (await runModel(path)).top;
  });

  for (const type of Object.keys(FILE_TYPES)) {
    const blocked = !isFloatType(FILE_TYPES[type]!.defaultType) && quantizerMissing;
    it(type, { skip: blocked ? `needs the addon's quantizers: ${quantizerMissing}` : false }, async () => {
      const path = join(dir, `tiny-${type}.gguf`);
      await makeModel({ shape: 'tiny', type, out: path });
      const info = await readGgufFileInfo(path);
      const expected = tensorLayout(SHAPES.tiny!).map((s) => [s.name, tensorType(FILE_TYPES[type]!, { ...s, blockCount: 2, tiedEmbeddings: true })]);
      assert.deepEqual(info.fullTensorInfo?.map((t) => [t.name, t.ggmlType]), expected);
      assert.equal(info.metadata.general.file_type, FILE_TYPES[type]!.ftype);

      warnings.length = 0;
      const { generated, top } = await runModel(path);
      assert.equal(generated.length, 4);
      assert.ok(generated.every((t) => t >= 0 && t < 49152));
      assert.deepEqual(warnings, []);
      // The same seed holds the same weights in every type, so where f32's top-1 is clear, the other
      // types mostly agree with it; garbage quantization would agree almost nowhere.
      const clear = reference.flatMap((r, i) => (r.margin > 0.5 ? [i] : []));
      const agree = clear.filter((i) => top[i]!.token === reference[i]!.token).length;
      const needed = ['f32', 'f16', 'bf16', 'q8_0'].includes(type) ? 0.9 : 0.5;
      assert.ok(clear.length >= 10 && agree >= needed * clear.length, `${agree} of ${clear.length} top-1s agree with f32`);
      rmSync(path);
    });
  }
});

describe('make-model: determinism', () => {
  it('writes byte-identical files for the same seed and different ones for another seed', async () => {
    const types = quantizerMissing ? ['f16'] : ['f16', 'q4_k_m'];
    for (const type of types) {
      const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir, `${n}-${type}.gguf`));
      await makeModel({ shape: 'tiny', type, out: a!, seed: 42 });
      await makeModel({ shape: 'tiny', type, out: b!, seed: 42 });
      await makeModel({ shape: 'tiny', type, out: c!, seed: 43 });
      assert.equal(sha256(a!), sha256(b!), type);
      assert.notEqual(sha256(a!), sha256(c!), type);
      for (const p of [a!, b!, c!]) rmSync(p);
    }
  });
});

describe('make-model: tokenizer', () => {
  const path = join(dir, 'tiny-vocab.gguf');
  before(() => makeModel({ shape: 'tiny', type: 'f16', out: path }));

  it('tokenizes as the Hugging Face tokenizer.json does', async () => {
    const vocab = JSON.parse(readFileSync(join(defaultTokenizerDir(), 'tokenizer.json'), 'utf8')).model.vocab as Record<string, number>;
    const ids = (...pieces: string[]) => pieces.map((p) => {
      assert.ok(p in vocab, p);
      return vocab[p];
    });
    const model = await llama.loadModel({ modelPath: path });
    // Byte-level BPE with digits split one by one; "Ġ" is the byte-level space.
    assert.deepEqual(model.tokenize('Hello world! 123'), ids('Hello', 'Ġworld', '!', 'Ġ', '1', '2', '3'));
    assert.deepEqual(model.tokenize('Hello world! 123'), [19556, 905, 17, 216, 33, 34, 35]);
    assert.deepEqual(model.tokenize('\n'), ids('Ċ'));
    assert.deepEqual(model.tokenize('<|im_start|>user\nHi<|im_end|>', true), [1, ...ids('user', 'Ċ', 'Hi'), 2]);
    assert.equal(model.detokenize(model.tokenize('Café déjà vu. 🦙')), 'Café déjà vu. 🦙');
    assert.equal(model.tokens.bos, 1);
    assert.equal(model.tokens.eos, 2);
    assert.equal(model.fileInfo.metadata.tokenizer.ggml.add_bos_token, false);
    assert.equal(model.fileInfo.metadata.tokenizer.chat_template, readFileSync(join(defaultTokenizerDir(), 'chat_template.jinja'), 'utf8'));
    await model.dispose();
  });

  it('pads a larger vocabulary with filler tokens that no text maps to and that are never predicted', async () => {
    const padded = join(dir, 'tiny-padded.gguf');
    await makeModel({ shape: { ...SHAPES.tiny!, vocabSize: 49152 + 64 }, type: 'f16', out: padded });
    warnings.length = 0;
    const model = await llama.loadModel({ modelPath: padded });
    assert.equal(model.fileInfo.metadata.tokenizer.ggml.tokens.length, 49216);
    assert.equal(model.fileInfo.metadata.tokenizer.ggml.tokens[49200], '[PAD49200]');
    assert.deepEqual(model.tokenize('[PAD49200] Hello world! 123', true).filter((t) => t >= 49152), []);
    const context = await model.createContext({ contextSize: 128, threads: 1 });
    const prompt = model.tokenize('The quick brown fox jumps over the lazy dog');
    const results = await context.getSequence().controlledEvaluate(prompt.map((t) => [t, { generateNext: { probabilities: true } }]));
    for (const r of results) {
      const probabilities = [...r!.next!.probabilities!.entries()];
      const top = probabilities.reduce((best, e) => (e[1] > best[1] ? e : best));
      assert.ok(top[0] < 49152, `filler token ${top[0]} predicted`);
      assert.equal(probabilities.find(([t]) => t === 49200)![1] < top[1] / 100, true);
    }
    assert.deepEqual(warnings, []);
    await context.dispose();
    await model.dispose();
    rmSync(padded);
  });
});
