// Small generated models (real SmolLM2 tokenizer, random weights) for tests, written once
// per test process into a temporary folder.
import path from 'node:path';
import { makeModel } from '../../src/make-model/make-model.js';
import { SHAPES, type ModelShape } from '../../src/make-model/shapes.js';
import { sharedModelsDir, tempDir } from './paths.js';

export const ALL_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_k_m', 'q5_k_m', 'q6_k'] as const;

/** `tiny` with the other architecture paths: qwen2 (Q/K/V biases, neox rope) and llama3 rope scaling. */
export const TEST_SHAPES: Record<string, ModelShape> = {
  'tiny-qwen2': { ...SHAPES.tiny, name: 'tiny-qwen2', arch: 'qwen2', qkvBias: true, ropeTheta: 1e6, rmsNormEps: 1e-6 },
  'tiny-llama3': {
    ...SHAPES.tiny,
    name: 'tiny-llama3',
    ropeTheta: 500000,
    contextLength: 131072,
    llama3RopeScaling: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
  },
};

let dir: string | undefined;
const made = new Map<string, Promise<string>>();

export function generatedModel(shape: string, type: string, seed = 1): Promise<string> {
  const key = `${shape}-${type}-${seed}`;
  if (!made.has(key)) {
    dir ??= tempDir('omni-models-');
    const out = path.join(dir, `${key}.gguf`);
    const tokenizerDir = path.join(sharedModelsDir(), 'smollm2-135m-instruct-tokenizer');
    made.set(key, makeModel({ shape: TEST_SHAPES[shape] ?? shape, type, out, seed, tokenizerDir }).then(() => out));
  }
  return made.get(key)!;
}
