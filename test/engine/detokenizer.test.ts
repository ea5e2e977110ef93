import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Detokenizer } from '../../src/engine/detokenizer.js';
import { createTokenizer, vocabFromGgufMetadata, type DetokenizeOptions, type Tokenizer } from '../../src/engine/tokenizer/index.js';
import { readGgufMetadata } from '../helpers/gguf-metadata.js';
import { sharedModelsDir } from '../helpers/paths.js';
import { smollm2Vocab } from '../helpers/smollm2-vocab.js';
import { seededRandom, tokenizerCorpus } from '../helpers/tokenizer-corpus.js';

const vocab = (name: string) => vocabFromGgufMetadata(readGgufMetadata(path.join(sharedModelsDir(), 'vocab', `ggml-vocab-${name}.gguf`)));
const tokenizers: Record<string, Tokenizer> = {
  'llama-spm': createTokenizer(vocab('llama-spm')),
  'phi-3': createTokenizer(vocab('phi-3')),
  'gpt-2': createTokenizer(vocab('gpt-2')), // cleans up spaces on detokenize
  'deepseek-llm': createTokenizer(vocab('deepseek-llm')),
  smollm2: createTokenizer(smollm2Vocab()),
};
const corpus = tokenizerCorpus().filter((s) => s.length < 2000);

function stream(tokenizer: Tokenizer, ids: readonly number[], options?: DetokenizeOptions): string[] {
  const detokenizer = new Detokenizer(tokenizer, options);
  return [...ids.map((id) => detokenizer.push(id)), detokenizer.flush()];
}

describe('Detokenizer', () => {
  const variants: Array<[string, DetokenizeOptions, boolean]> = [
    ['defaults', {}, false],
    ['unparseSpecial', { unparseSpecial: true }, true],
    ['removeSpecial, with BOS added', { removeSpecial: true }, true],
    ['continuation (no leading-space strip, no clean-up)', { stripLeadingSpace: false, cleanSpaces: false }, false],
  ];
  for (const [name, tokenizer] of Object.entries(tokenizers)) {
    for (const [label, options, special] of variants) {
      it(`${name}: joined deltas equal detokenize() (${label})`, () => {
        const diffs: unknown[] = [];
        for (const text of corpus) {
          const ids = tokenizer.tokenize(text, { addSpecial: special, parseSpecial: special });
          const deltas = stream(tokenizer, ids, options);
          const whole = tokenizer.detokenize(ids, options);
          if (deltas.join('') !== whole) diffs.push({ text, whole, deltas });
          if (!text.includes('\uFFFD') && deltas.some((d) => d.includes('\uFFFD'))) diffs.push({ text, replacementCharIn: deltas });
          if (diffs.length >= 3) break;
        }
        assert.deepEqual(diffs, []);
      });
    }
  }

  it('holds back a character split across byte tokens until it is complete', () => {
    for (const name of ['llama-spm', 'gpt-2']) {
      const tokenizer = tokenizers[name]!;
      const ids = tokenizer.tokenize('a🦙b');
      const deltas = stream(tokenizer, ids);
      assert.ok(deltas.filter((d) => d === '').length >= 2, `${name}: ${JSON.stringify(deltas)}`);
      assert.ok(deltas.includes('🦙') || deltas.some((d) => d.startsWith('🦙')), `${name}: ${JSON.stringify(deltas)}`);
      assert.equal(deltas.join(''), 'a🦙b');
    }
    const spm = tokenizers['llama-spm']!;
    const llama = spm.tokenize('🦙');
    assert.deepEqual(stream(spm, llama), ['', '', '', '', '🦙', '']); // "▁" (stripped), then four byte tokens
  });

  it('turns bytes still incomplete at the end into U+FFFD, like detokenize()', () => {
    const spm = tokenizers['llama-spm']!;
    const partial = spm.tokenize('x🦙').slice(0, -2);
    const deltas = stream(spm, partial);
    assert.equal(deltas.join(''), spm.detokenize(partial));
    assert.equal(deltas.at(-1), '\uFFFD');
  });

  it('clean-up spaces: streamed output equals the whole, for random apostrophe/space/punctuation soup', () => {
    const gpt2 = tokenizers['gpt-2']!;
    const rand = seededRandom(7);
    const alphabet = [' ', ' ', "'", 's', 'm', 're', 've', 'll', 't', 'd', '.', ',', '?', '!', 'x', 'é', '🦙', '  '];
    for (let n = 0; n < 2000; n++) {
      const text = Array.from({ length: 1 + Math.floor(rand() * 14) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      const ids = gpt2.tokenize(text);
      assert.equal(stream(gpt2, ids).join(''), gpt2.detokenize(ids), JSON.stringify(text));
    }
  });

  it('removeSpecial drops only a trailing EOS, holding EOS back until it knows', () => {
    const tiny = createTokenizer({
      ...vocabFromGgufMetadata(readGgufMetadata(path.join(sharedModelsDir(), 'tiny', 'stories260K.gguf'))),
      addEos: true,
    });
    const eos = tiny.eosId!;
    const body = tiny.tokenize('Once upon a time', { addSpecial: true }).slice(0, -1);
    for (const ids of [[...body, eos], [...body, eos, eos], [...body, eos, ...body.slice(1), eos], [eos], []]) {
      for (const options of [{ removeSpecial: true }, { removeSpecial: true, unparseSpecial: true }]) {
        assert.equal(stream(tiny, ids, options).join(''), tiny.detokenize(ids, options), JSON.stringify({ ids, options }));
      }
    }
    assert.equal(tiny.detokenize([...body, eos, eos], { removeSpecial: true, unparseSpecial: true }), ' Once upon a time</s>');
  });
});
