// Our tokenizer against llama.cpp itself (node-llama-cpp, vocab-only), over a seeded corpus of
// 500+ strings: ids, detokenized text, special ids and token classes must all agree. Every GGUF
// under the shared models dir with a supported tokenizer is compared, plus a generated model
// carrying SmolLM2's real tokenizer (byte-level BPE, pre-tokenizer "smollm").
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import { cleanUpSpaces, createTokenizer, TokenType, vocabFromGgufMetadata, type Tokenizer, type Vocab } from '../../src/engine/tokenizer/index.js';
import { readGgufMetadata } from '../helpers/gguf-metadata.js';
import { sharedModelsDir } from '../helpers/paths.js';
import { generatedModel } from '../helpers/test-models.js';
import { tokenizerCorpus } from '../helpers/tokenizer-corpus.js';

const corpus = tokenizerCorpus();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, logger: () => {} });

function ggufFiles(dir: string, depth = 2): string[] {
  if (!existsSync(dir) || depth < 0) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return ggufFiles(full, depth - 1);
    return name.endsWith('.gguf') ? [full] : [];
  });
}

const files = ggufFiles(sharedModelsDir()).filter((file) => {
  const model = readGgufMetadata(file)['tokenizer.ggml.model'];
  return model === 'llama' || model === 'gpt2';
});
files.push(await generatedModel('tiny', 'q8_0'));

/** Ids as node-llama-cpp's low-level binding returns them: llama_tokenize with add_special=false. */
function oracleTokenize(model: LlamaModel, text: string, parseSpecial: boolean): number[] {
  return Array.from((model as unknown as { _model: { tokenize(t: string, s: boolean): Uint32Array } })._model.tokenize(text, parseSpecial));
}

const token = (id: number) => id as Token; // node-llama-cpp brands token ids

function mismatches<T>(items: T[], differs: (item: T) => unknown): unknown[] {
  const out: unknown[] = [];
  for (const item of items) {
    const d = differs(item);
    if (d !== undefined) out.push(d);
    if (out.length >= 5) break;
  }
  return out;
}

describe('tokenizer vs llama.cpp (node-llama-cpp)', () => {
  after(() => llama.dispose());

  it('has vocabularies to compare and a corpus of 500+ strings', () => {
    assert.ok(files.length >= 10, `found only ${files.length} GGUF files under ${sharedModelsDir()}`);
    assert.ok(corpus.length >= 500);
  });

  for (const file of files) {
    const label = file.startsWith(sharedModelsDir()) ? path.relative(sharedModelsDir(), file) : 'generated SmolLM2 (tiny q8_0)';
    describe(label, () => {
      let model: LlamaModel;
      let vocab: Vocab;
      let tokenizer: Tokenizer;

      it('loads in both', async () => {
        model = await llama.loadModel({ modelPath: file, vocabOnly: true });
        vocab = vocabFromGgufMetadata(readGgufMetadata(file));
        tokenizer = createTokenizer(vocab);
        assert.equal(tokenizer.vocabSize, [...model.iterateAllTokens()].length);
      });
      after(() => model?.dispose());

      for (const parseSpecial of [false, true]) {
        it(`tokenizes the corpus identically (parseSpecial=${parseSpecial})`, () => {
          const diffs = mismatches(corpus, (text) => {
            const expected = oracleTokenize(model, text, parseSpecial);
            const got = tokenizer.tokenize(text, { parseSpecial });
            return JSON.stringify(expected) === JSON.stringify(got) ? undefined : { text, expected, got };
          });
          assert.deepEqual(diffs, []);
        });
      }

      it('detokenizes identically (llama_detokenize, remove_special=false)', () => {
        const diffs = mismatches(corpus, (text) => {
          const ids = oracleTokenize(model, text, true);
          for (const unparseSpecial of [false, true]) {
            const expected = model.detokenize(ids.map(token), unparseSpecial);
            const got = tokenizer.detokenize(ids, { unparseSpecial });
            if (expected !== got) return { text, unparseSpecial, expected, got };
          }
          return undefined;
        });
        assert.deepEqual(diffs, []);
      });

      it('agrees on special ids, BOS/EOS insertion, end-of-generation and special tokens', () => {
        const asNode = (id: number | undefined) => (id === undefined || model.getTokenAttributes(token(id)).unknown ? null : id);
        assert.equal(asNode(tokenizer.bosId), model.tokens.bos);
        assert.equal(asNode(tokenizer.eosId), model.tokens.eos);
        const eot = asNode(tokenizer.eotId);
        if (eot !== model.tokens.eot) {
          // Several end-of-turn texts: llama.cpp picks one in hash-map order, we pick by priority (see token-attributes.ts).
          assert.ok(eot !== null && model.tokens.eot !== null, `eot: ours ${eot}, llama.cpp ${model.tokens.eot}`);
          assert.ok(model.isEogToken(token(eot)) && tokenizer.isEog(model.tokens.eot));
        }
        assert.equal(tokenizer.addBos && tokenizer.bosId !== undefined, model.tokens.shouldPrependBosToken);
        const diffs: unknown[] = [];
        for (let id = 0; id < tokenizer.vocabSize && diffs.length < 5; id++) {
          const attrs = model.getTokenAttributes(token(id));
          if (tokenizer.isEog(id) !== model.isEogToken(token(id))) diffs.push({ id, eog: tokenizer.isEog(id) });
          if (tokenizer.isSpecial(id) !== (attrs.control || attrs.unknown)) diffs.push({ id, special: tokenizer.isSpecial(id) });
        }
        assert.deepEqual(diffs, []);
      });

      it('round-trips text (BPE: modulo clean-up spaces; SPM: "▁" reads as a space, and no special token was cut out)', () => {
        const partitioned = (id: number) => {
          const type = vocab.tokenTypes?.[id];
          return type === TokenType.Control || type === TokenType.UserDefined || type === TokenType.Unknown;
        };
        const diffs = mismatches(corpus, (text) => {
          const ids = tokenizer.tokenize(text);
          if (vocab.model === 'llama' && ids.some(partitioned)) return undefined; // a space is added after each
          const expected =
            vocab.model === 'llama' ? text.replaceAll('\u2581', ' ') : tokenizer.detokenizeRules.cleanSpaces ? cleanUpSpaces(text) : text;
          const got = tokenizer.detokenize(ids);
          return got === expected ? undefined : { text, expected, got };
        });
        assert.deepEqual(diffs, []);
      });
    });
  }
});
