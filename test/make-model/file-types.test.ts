import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FILE_TYPES, tensorType } from '../../src/make-model/file-types.js';
import { SHAPES, type ModelShape } from '../../src/make-model/shapes.js';
import { tensorLayout } from '../../src/make-model/tensor-layout.js';
import { typeName } from '../../src/make-model/tensor-types.js';

function typesOf(shapeOrName: string | ModelShape, fileType: string): Map<string, string> {
  const shape = typeof shapeOrName === 'string' ? SHAPES[shapeOrName]! : shapeOrName;
  const out = new Map<string, string>();
  for (const s of tensorLayout(shape)) {
    const t = tensorType(FILE_TYPES[fileType]!, { ...s, blockCount: shape.blockCount, tiedEmbeddings: shape.tiedEmbeddings });
    out.set(s.name, typeName(t));
  }
  return out;
}

// Layers llama.cpp's use_more_bits picks, written out by hand for the layer counts we have.
const MORE_BITS: Record<number, number[]> = {
  2: [1],
  16: [0, 1, 4, 7, 10, 13, 14, 15],
  30: [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29],
};

describe('file types: which tensor gets which type', () => {
  it('keeps norms, biases and rope_freqs in f32 and converts every matrix in the float types', () => {
    for (const ft of ['f32', 'f16', 'bf16']) {
      for (const [name, type] of [...typesOf('qwen2.5-0.5b', ft), ...typesOf('llama-3.2-1b', ft)]) {
        const oneDim = name.includes('norm') || name.endsWith('.bias') || name === 'rope_freqs.weight';
        assert.equal(type, oneDim ? 'f32' : ft, name);
      }
    }
  });

  it('q4_k_m on tiny: q6_K for the tied embedding and the use_more_bits attn_v/ffn_down, q4_K elsewhere', () => {
    const t = typesOf('tiny', 'q4_k_m');
    assert.equal(t.get('token_embd.weight'), 'q6_K');
    assert.equal(t.get('blk.0.attn_v.weight'), 'q4_K');
    assert.equal(t.get('blk.1.attn_v.weight'), 'q6_K');
    assert.equal(t.get('blk.0.ffn_down.weight'), 'q4_K');
    assert.equal(t.get('blk.1.ffn_down.weight'), 'q6_K');
    for (const n of ['attn_q', 'attn_k', 'attn_output', 'ffn_gate', 'ffn_up']) assert.equal(t.get(`blk.1.${n}.weight`), 'q4_K');
    assert.equal(t.get('blk.0.attn_norm.weight'), 'f32');
    assert.equal(t.get('output_norm.weight'), 'f32');
    assert.equal(t.has('output.weight'), false);
    const untied = typesOf({ ...SHAPES.tiny!, tiedEmbeddings: false }, 'q4_k_m');
    assert.equal(untied.get('output.weight'), 'q6_K');
    assert.equal(untied.get('token_embd.weight'), 'q4_K');
  });

  it('q4_k_m on smollm2-135m: rows of 576 fall back (q4_K → q5_0, q6_K → q8_0) as llama.cpp does', () => {
    const t = typesOf('smollm2-135m', 'q4_k_m');
    assert.equal(t.get('token_embd.weight'), 'q8_0');
    for (let layer = 0; layer < 30; layer++) {
      const more = MORE_BITS[30]!.includes(layer);
      assert.equal(t.get(`blk.${layer}.attn_v.weight`), more ? 'q8_0' : 'q5_0');
      assert.equal(t.get(`blk.${layer}.ffn_down.weight`), more ? 'q6_K' : 'q4_K'); // rows of 1536 = 6 blocks
      assert.equal(t.get(`blk.${layer}.attn_q.weight`), 'q5_0');
      assert.equal(t.get(`blk.${layer}.ffn_up.weight`), 'q5_0');
    }
  });

  it('q5_k_m, q6_k and llama-3.2-1b q4_k_m follow the same rules', () => {
    const q5 = typesOf('smollm2-135m', 'q5_k_m');
    assert.equal(q5.get('blk.3.attn_q.weight'), 'q5_1');
    assert.equal(q5.get('blk.3.ffn_down.weight'), 'q5_K');
    assert.equal(q5.get('blk.2.ffn_down.weight'), 'q6_K');
    const q6 = typesOf('smollm2-135m', 'q6_k');
    assert.equal(q6.get('blk.3.attn_q.weight'), 'q8_0');
    assert.equal(q6.get('blk.3.ffn_down.weight'), 'q6_K');
    const l = typesOf('llama-3.2-1b', 'q4_k_m');
    assert.equal(l.get('token_embd.weight'), 'q6_K');
    for (let layer = 0; layer < 16; layer++) {
      const more = MORE_BITS[16]!.includes(layer);
      assert.equal(l.get(`blk.${layer}.attn_v.weight`), more ? 'q6_K' : 'q4_K');
      assert.equal(l.get(`blk.${layer}.ffn_down.weight`), more ? 'q6_K' : 'q4_K');
      assert.equal(l.get(`blk.${layer}.attn_k.weight`), 'q4_K');
    }
    assert.equal(l.get('rope_freqs.weight'), 'f32');
  });

  it('legacy block types put the tied embedding in q6_K (or q8_0 when its rows do not fit 256-blocks)', () => {
    for (const ft of ['q4_0', 'q4_1', 'q5_0', 'q5_1']) {
      const tiny = typesOf('tiny', ft);
      assert.equal(tiny.get('token_embd.weight'), 'q6_K');
      assert.equal(tiny.get('blk.1.attn_v.weight'), ft);
      assert.equal(tiny.get('blk.1.ffn_down.weight'), ft);
      assert.equal(typesOf('qwen2.5-0.5b', ft).get('token_embd.weight'), 'q8_0'); // 896 = 3.5 × 256
      assert.equal(typesOf('qwen2.5-0.5b', ft).get('blk.0.attn_q.bias'), 'f32');
    }
    for (const [name, type] of typesOf('smollm2-360m', 'q8_0')) assert.equal(type, name.includes('norm') ? 'f32' : 'q8_0');
  });
});
