// Small generated models (real SmolLM2 tokenizer, random weights) for tests, written once
// per test process into a temporary folder.
import path from 'node:path';
import { makeModel } from '../../src/make-model/make-model.js';
import { sharedModelsDir, tempDir } from './paths.js';

export const ALL_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k_m', 'q5_k_m', 'q6_k'] as const;

let dir: string | undefined;
const made = new Map<string, Promise<string>>();

export function generatedModel(shape: string, type: string, seed = 1): Promise<string> {
  const key = `${shape}-${type}-${seed}`;
  if (!made.has(key)) {
    dir ??= tempDir('omni-models-');
    const out = path.join(dir, `${key}.gguf`);
    const tokenizerDir = path.join(sharedModelsDir(), 'smollm2-135m-instruct-tokenizer');
    made.set(key, makeModel({ shape, type, out, seed, tokenizerDir }).then(() => out));
  }
  return made.get(key)!;
}
