// SmolLM2's real tokenizer (byte-level BPE, pre-tokenizer "smollm"), built from its tokenizer.json.
// The expected ids below come from llama.cpp (node-llama-cpp 3.22.1) run on a vocab-only GGUF
// written from the same tokenizer.json; tokenizer-oracle.test.ts also compares a generated SmolLM2
// GGUF with llama.cpp live.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createTokenizer } from '../../src/engine/tokenizer/index.js';
import { LoadedModel } from '../../src/engine/loaded-model.js';
import { generatedModel } from '../helpers/test-models.js';
import { smollm2Vocab } from '../helpers/smollm2-vocab.js';
import { tokenizerCorpus } from '../helpers/tokenizer-corpus.js';

const tokenizer = createTokenizer(smollm2Vocab());
const corpus = tokenizerCorpus();

// sha256 of JSON.stringify(ids of every corpus string), as llama.cpp tokenized them.
const LLAMA_CPP_CORPUS_SHA256 = {
  literal: '96d39d9c64d90c0aede9c81ef81ce1d96c926c2b3f7c904f191145977b712406',
  parseSpecial: 'cee194fd36ac7052a7fa31305eb2857086f9348dc07c2148fd90b163694d97e7',
};

const sha256 = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

describe('SmolLM2 tokenizer (from tokenizer.json)', () => {
  it('has the real vocabulary', () => {
    assert.equal(tokenizer.vocabSize, 49152);
    assert.equal(tokenizer.bosId, 1);
    assert.equal(tokenizer.eosId, 2);
    assert.equal(tokenizer.addBos, false);
  });

  it('gives llama.cpp\'s ids for sample prompts', () => {
    const cases: Array<[string, number[]]> = [
      ['Hello, world!', [19556, 28, 905, 17]],
      ["I'm sure you're right", [57, 5248, 2090, 346, 2316, 1048]],
      ['<|im_start|>user\nHi 🦙<|im_end|>\n', [1, 4093, 198, 26843, 15107, 116, 243, 2, 198]],
      ['  12345 日本語\t\n', [256, 33, 34, 35, 36, 37, 17097, 241, 115, 40993, 179, 120, 248, 197, 198]],
    ];
    for (const [text, ids] of cases) assert.deepEqual(tokenizer.tokenize(text, { parseSpecial: true }), ids, JSON.stringify(text));
  });

  it('gives llama.cpp\'s ids for the whole corpus, with and without parseSpecial', () => {
    assert.equal(sha256(corpus.map((s) => tokenizer.tokenize(s))), LLAMA_CPP_CORPUS_SHA256.literal);
    assert.equal(sha256(corpus.map((s) => tokenizer.tokenize(s, { parseSpecial: true }))), LLAMA_CPP_CORPUS_SHA256.parseSpecial);
  });

  it('round-trips every corpus string exactly (smollm does not clean up spaces)', () => {
    assert.equal(tokenizer.detokenizeRules.cleanSpaces, false);
    const diffs = corpus.filter((s) => tokenizer.detokenize(tokenizer.tokenize(s)) !== s);
    assert.deepEqual(diffs, []);
  });

  it('is what a GGUF written with it gives back through the engine', async () => {
    const model = await LoadedModel.load(await generatedModel('tiny', 'f16'), { vocabOnly: true });
    assert.equal(model.info.metadata['tokenizer.ggml.pre'], 'smollm');
    const fromGguf = model.tokenizer;
    assert.equal(fromGguf.vocabSize, tokenizer.vocabSize);
    for (const s of corpus) assert.deepEqual(fromGguf.tokenize(s, { parseSpecial: true }), tokenizer.tokenize(s, { parseSpecial: true }));
    model.dispose();
  });
});
