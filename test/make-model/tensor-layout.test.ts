import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { llama3RopeFactors } from '../../src/make-model/llama3-rope.js';
import { SHAPES } from '../../src/make-model/shapes.js';
import { tensorLayout } from '../../src/make-model/tensor-layout.js';

const paramCount = (shape: string) =>
  tensorLayout(SHAPES[shape]!).filter((t) => t.name !== 'rope_freqs.weight').reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);

describe('tensor layout', () => {
  it('gives each real shape its published parameter count', () => {
    assert.equal(paramCount('smollm2-135m'), 134_515_008);
    assert.equal(paramCount('smollm2-360m'), 361_821_120);
    assert.equal(paramCount('qwen2.5-0.5b'), 494_032_768);
    assert.equal(paramCount('llama-3.2-1b'), 1_235_814_400);
  });

  it('names and shapes tensors as llama.cpp expects: dims[0] is the input width', () => {
    const byName = new Map(tensorLayout(SHAPES['qwen2.5-0.5b']!).map((t) => [t.name, t.dims]));
    assert.deepEqual(byName.get('token_embd.weight'), [896, 151936]);
    assert.deepEqual(byName.get('blk.0.attn_q.weight'), [896, 896]);
    assert.deepEqual(byName.get('blk.0.attn_k.weight'), [896, 128]);
    assert.deepEqual(byName.get('blk.0.attn_k.bias'), [128]);
    assert.deepEqual(byName.get('blk.23.attn_output.weight'), [896, 896]);
    assert.deepEqual(byName.get('blk.23.ffn_down.weight'), [4864, 896]);
    assert.deepEqual(byName.get('blk.23.ffn_gate.weight'), [896, 4864]);
    assert.deepEqual(byName.get('output_norm.weight'), [896]);
    assert.equal(byName.has('output.weight'), false); // tied
    assert.equal(byName.has('blk.24.attn_norm.weight'), false);
  });

  it('writes output.weight only for an untied shape', () => {
    const names = tensorLayout({ ...SHAPES.tiny!, tiedEmbeddings: false }).map((t) => t.name);
    assert.equal(names.at(-1), 'output.weight');
  });

  it('computes llama 3 rope factors as the converter does: 1 for short wavelengths, the factor for long ones', () => {
    const f = llama3RopeFactors(64, 500000, { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 });
    assert.equal(f.length, 32);
    // wavelength 2π·500000^(2i/64) < 2048 for i ≤ 14, > 8192 for i ≥ 18, smooth for 15..17
    for (let i = 0; i <= 14; i++) assert.equal(f[i], 1);
    for (let i = 18; i < 32; i++) assert.equal(f[i], 32);
    for (let i = 15; i <= 17; i++) {
      const wavelen = 2 * Math.PI * 500000 ** ((2 * i) / 64);
      const smooth = (8192 / wavelen - 1) / 3;
      assert.ok(Math.abs(f[i]! - 1 / ((1 - smooth) / 32 + smooth)) < 1e-4 * f[i]!, `factor ${i}`);
      assert.ok(f[i]! > f[i - 1]!);
    }
    const layout = tensorLayout(SHAPES['llama-3.2-1b']!);
    const rope = layout.find((t) => t.name === 'rope_freqs.weight')!;
    assert.deepEqual(rope.dims, [32]);
    assert.equal(tensorLayout(SHAPES['smollm2-135m']!).some((t) => t.name === 'rope_freqs.weight'), false);
  });
});
