// llama.cpp's own tokenizer test cases (tests/test-tokenizer-0): every case of every vocabulary we
// support must give exactly the expected ids, tokenized with add_special=false, parse_special=false.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createTokenizer, vocabFromGgufMetadata } from '../../src/engine/tokenizer/index.js';
import { readGgufMetadata } from '../helpers/gguf-metadata.js';
import { sharedModelsDir } from '../helpers/paths.js';

const vocabDir = path.join(sharedModelsDir(), 'vocab');

// Vocabularies whose tokenizer we deliberately do not implement, with the reason.
const EXCLUDED: Record<string, string> = {
  'ggml-vocab-bert-bge.gguf': 'WordPiece ("bert") tokenizer: embedding models only, not served by Omni',
};
// Vocabularies that ship without test cases: they must still load and tokenize.
const WITHOUT_CASES = ['ggml-vocab-baichuan.gguf', 'ggml-vocab-gpt-neox.gguf'];
// The vocabularies with cases that we expect to pass; a missing one fails the run instead of being skipped.
const EXPECTED_WITH_CASES = [
  'deepseek-coder', 'deepseek-llm', 'falcon', 'gpt-2', 'llama-spm', 'mpt', 'phi-3', 'refact', 'starcoder',
].map((n) => `ggml-vocab-${n}.gguf`);

/** Cases as llama.cpp reads them: inputs split on "\n__ggml_vocab_test__\n", one line of ids per case. */
function readCases(ggufPath: string): Array<{ text: string; ids: number[] }> {
  const raw = readFileSync(`${ggufPath}.inp`, 'utf8');
  const inputs: string[] = [];
  const sep = '\n__ggml_vocab_test__\n';
  for (let pos = 0; pos < raw.length; ) {
    const next = raw.indexOf(sep, pos);
    if (next === -1) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  const lines = readFileSync(`${ggufPath}.out`, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  assert.equal(inputs.length, lines.length, `${ggufPath}: .inp and .out have different numbers of cases`);
  return inputs.map((text, i) => {
    const line = lines[i]!.trim();
    return { text, ids: line === '' ? [] : line.split(' ').map(Number) };
  });
}

describe('llama.cpp tokenizer cases (test-tokenizer-0)', () => {
  it('finds the shared vocabularies', () => {
    assert.ok(existsSync(vocabDir), `shared vocab dir missing: ${vocabDir} (set OMNI_SHARED_DIR)`);
    const withCases = readdirSync(vocabDir).filter((f) => f.endsWith('.gguf') && existsSync(path.join(vocabDir, `${f}.inp`)));
    for (const name of EXPECTED_WITH_CASES) assert.ok(withCases.includes(name), `expected vocabulary ${name} is missing`);
    for (const name of withCases) {
      if (name in EXCLUDED || EXPECTED_WITH_CASES.includes(name)) continue;
      const model = readGgufMetadata(path.join(vocabDir, name))['tokenizer.ggml.model'];
      assert.fail(`${name} (tokenizer ${String(model)}) has cases but is neither tested nor excluded with a reason`);
    }
  });

  for (const name of EXPECTED_WITH_CASES) {
    it(`${name}: every case gives the expected ids`, () => {
      const file = path.join(vocabDir, name);
      const tokenizer = createTokenizer(vocabFromGgufMetadata(readGgufMetadata(file)));
      const cases = readCases(file);
      assert.ok(cases.length > 0);
      const failures = cases.filter((c) => JSON.stringify(tokenizer.tokenize(c.text)) !== JSON.stringify(c.ids));
      assert.deepEqual(
        failures.map((c) => ({ text: c.text, expected: c.ids, got: tokenizer.tokenize(c.text) })),
        [],
        `${failures.length}/${cases.length} cases differ`,
      );
    });
  }

  for (const [name, reason] of Object.entries(EXCLUDED)) {
    it(`${name}: refused with a clear error (${reason})`, () => {
      const meta = readGgufMetadata(path.join(vocabDir, name));
      assert.throws(() => vocabFromGgufMetadata(meta), /unsupported tokenizer model bert/);
    });
  }

  for (const name of WITHOUT_CASES) {
    it(`${name}: loads and tokenizes (no cases shipped)`, () => {
      const meta = readGgufMetadata(path.join(vocabDir, name));
      const tokenizer = createTokenizer(vocabFromGgufMetadata(meta));
      assert.equal(tokenizer.vocabSize, (meta['tokenizer.ggml.tokens'] as string[]).length);
      const ids = tokenizer.tokenize('Hello world, 123!');
      assert.ok(ids.length > 0);
      assert.equal(tokenizer.detokenize(ids), 'Hello world, 123!');
    });
  }
});
