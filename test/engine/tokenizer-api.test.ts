// The tokenizer's contract: special tokens, BOS/EOS, defaults, errors, metadata parsing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createTokenizer, supportedPreTokenizers, vocabFromGgufMetadata, type Vocab } from '../../src/engine/tokenizer/index.js';
import { readGgufMetadata } from '../helpers/gguf-metadata.js';
import { sharedModelsDir } from '../helpers/paths.js';
import { smollm2Vocab } from '../helpers/smollm2-vocab.js';

const vocabFile = (name: string) => path.join(sharedModelsDir(), 'vocab', `ggml-vocab-${name}.gguf`);
const load = (name: string) => createTokenizer(vocabFromGgufMetadata(readGgufMetadata(vocabFile(name))));

describe('tokenizer: special tokens', () => {
  const smol = createTokenizer(smollm2Vocab());

  it('parses control tokens only with parseSpecial', () => {
    const text = '<|im_start|>user\nHi<|im_end|>\n';
    const parsed = smol.tokenize(text, { parseSpecial: true });
    assert.equal(parsed[0], 1);
    assert.ok(parsed.includes(2));
    const literal = smol.tokenize(text);
    assert.ok(!literal.includes(1) && !literal.includes(2));
    assert.ok(literal.length > parsed.length);
    assert.equal(smol.detokenize(literal), text);
    assert.equal(smol.detokenize(parsed), 'user\nHi\n');
    assert.equal(smol.detokenize(parsed, { unparseSpecial: true }), text);
  });

  it('matches the longest special token first', () => {
    // "<|endoftext|>" (id 0) must not be cut into something shorter
    assert.deepEqual(smol.tokenize('<|endoftext|><|endoftext|>', { parseSpecial: true }), [0, 0]);
  });

  it('adds BOS as the vocabulary asks, and only with addSpecial', () => {
    const spm = load('llama-spm');
    assert.equal(spm.addBos, true);
    assert.deepEqual(spm.tokenize('Hi', { addSpecial: true }).slice(0, 1), [1]);
    assert.notEqual(spm.tokenize('Hi')[0], 1);
    assert.deepEqual(spm.tokenize('', { addSpecial: true }), [1]);
    assert.deepEqual(spm.tokenize(''), []);
    const gpt2 = load('gpt-2');
    assert.equal(gpt2.addBos, false);
    assert.deepEqual(gpt2.tokenize('Hi', { addSpecial: true }), gpt2.tokenize('Hi'));
    const deepseek = load('deepseek-coder');
    assert.equal(deepseek.tokenize('Hi', { addSpecial: true })[0], deepseek.bosId);
  });

  it('SPM: detokenize drops the leading space of the first piece, unless a dropped BOS precedes it', () => {
    const spm = load('llama-spm');
    const ids = spm.tokenize('Hello world', { addSpecial: true });
    assert.equal(spm.detokenize(ids.slice(1)), 'Hello world');
    assert.equal(spm.detokenize(ids), ' Hello world'); // BOS renders as nothing but consumes the strip
    assert.equal(spm.detokenize(ids, { removeSpecial: true }), ' Hello world');
    assert.equal(spm.detokenize(ids.slice(1), { stripLeadingSpace: false }), ' Hello world');
  });

  it('exposes special ids and end-of-generation tokens', () => {
    const spm = load('llama-spm');
    assert.equal(spm.bosId, 1);
    assert.equal(spm.eosId, 2);
    assert.equal(spm.unkId, 0);
    assert.ok(spm.isEog(2));
    assert.equal(smol.eotId, 2); // found by its text: <|im_end|> is preferred over <|endoftext|>
    assert.deepEqual(smol.endOfGenerationIds, [0, 2, 4]); // <|endoftext|>, <|im_end|>, <reponame> (FIM repo)
    assert.ok(smol.isSpecial(1));
    assert.ok(!smol.isSpecial(100));
  });

  it('tokenToBytes renders control tokens only when asked', () => {
    assert.equal(smol.tokenToBytes(1).length, 0);
    assert.equal(Buffer.from(smol.tokenToBytes(1, { unparseSpecial: true })).toString(), '<|im_start|>');
    const spm = load('llama-spm');
    const byteToken = spm.tokenize('\u{1F999}')[1]!; // "▁" then byte tokens
    assert.equal(spm.tokenToBytes(byteToken).length, 1);
    assert.throws(() => spm.tokenToBytes(999_999), RangeError);
  });

  it('ignores special ids outside the vocabulary (0xFFFFFFFF means none)', () => {
    const tiny = createTokenizer(vocabFromGgufMetadata(readGgufMetadata(path.join(sharedModelsDir(), 'tiny', 'stories260K.gguf'))));
    assert.equal(tiny.vocabSize, 512);
    assert.equal(tiny.specialIds.sep, undefined);
    assert.equal(tiny.padId, undefined);
    assert.equal(tiny.detokenize(tiny.tokenize('Once upon a time')), 'Once upon a time');
  });
});

describe('vocabFromGgufMetadata', () => {
  const base: Record<string, unknown> = {
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': 'gpt-2',
    'tokenizer.ggml.tokens': ['a', 'b', 'ab', '<|endoftext|>'],
    'tokenizer.ggml.token_type': [1, 1, 1, 3],
    'tokenizer.ggml.merges': ['a b'],
    'tokenizer.ggml.eos_token_id': 3n,
    'tokenizer.ggml.add_bos_token': false,
    'general.name': 'toy',
  };

  it('accepts plain JS arrays and bigint ids', () => {
    const vocab = vocabFromGgufMetadata(base);
    assert.ok(vocab.tokenTypes instanceof Int32Array);
    assert.equal(vocab.eosId, 3);
    assert.equal(vocab.addBos, false);
    const tokenizer = createTokenizer(vocab);
    assert.deepEqual(tokenizer.tokenize('abab'), [2, 2]);
    assert.deepEqual(tokenizer.tokenize('ab<|endoftext|>', { parseSpecial: true }), [2, 3]);
  });

  it('refuses unsupported tokenizer models with a clear error', () => {
    for (const model of ['bert', 't5', 'rwkv']) {
      assert.throws(() => vocabFromGgufMetadata({ ...base, 'tokenizer.ggml.model': model }), new RegExp(`unsupported tokenizer model ${model}`));
    }
    assert.throws(() => createTokenizer({ ...(vocabFromGgufMetadata(base) as Vocab), model: 'bert' as never }), /unsupported tokenizer model bert/);
  });

  it('refuses unknown pre-tokenizers and missing merges', () => {
    assert.throws(() => createTokenizer(vocabFromGgufMetadata({ ...base, 'tokenizer.ggml.pre': 'nonesuch' })), /unsupported pre-tokenizer "nonesuch"/);
    const { ['tokenizer.ggml.merges']: _, ...noMerges } = base;
    assert.throws(() => vocabFromGgufMetadata(noMerges), /merges/);
  });

  it('supports the pre-tokenizers of the common model families', () => {
    const required = ['default', 'llama-bpe', 'smollm', 'qwen2', 'gpt-2', 'starcoder', 'falcon', 'deepseek-llm', 'deepseek-coder', 'mpt', 'refact'];
    for (const pre of required) assert.ok(supportedPreTokenizers().includes(pre), pre);
  });

  it('uses the default pre-tokenizer when tokenizer.ggml.pre is absent', () => {
    const { ['tokenizer.ggml.pre']: _, ...noPre } = base;
    assert.deepEqual(createTokenizer(vocabFromGgufMetadata(noPre)).tokenize('ab'), [2]);
  });

  it('refuses add_bos_token without a BOS id', () => {
    const meta = { ...base, 'tokenizer.ggml.add_bos_token': true, 'tokenizer.ggml.tokens': ['a', 'b', 'ab'], 'tokenizer.ggml.token_type': [1, 1, 1] };
    assert.throws(() => createTokenizer(vocabFromGgufMetadata(meta)), /no BOS token/);
  });
});

describe('tokenizer: speed', () => {
  it('tokenizes a 4 KB prompt in well under 10 ms once warm', () => {
    const prompt = ("The quick brown fox jumps over the lazy dog; it's 12:45 and `x += 1` in code.\n".repeat(60)).slice(0, 4096);
    for (const tokenizer of [createTokenizer(smollm2Vocab()), load('llama-spm')]) {
      for (let i = 0; i < 20; i++) tokenizer.tokenize(prompt + i);
      const runs = 20;
      const start = performance.now();
      for (let i = 0; i < runs; i++) tokenizer.tokenize(`${i}${prompt}`);
      const ms = (performance.now() - start) / runs;
      assert.ok(ms < 10, `${tokenizer.model}: ${ms.toFixed(2)} ms per 4 KB prompt`);
    }
  });
});
