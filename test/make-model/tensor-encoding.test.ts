import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBF16, toF16 } from '../../src/make-model/tensor-encoding.js';

// Exact decoders, written from the formats' definitions.
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
const bf16ToFloat = (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!;

describe('float16 and bfloat16 conversion', () => {
  it('maps every finite half back to itself and rounds midpoints to even', () => {
    const values: number[] = [];
    const expected: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if (((h >> 10) & 0x1f) === 31) continue;
      values.push(halfToFloat(h));
      expected.push(h);
      const next = h + 1;
      if ((h & 0x7fff) < 0x7bff) { // the midpoint to the next half of larger magnitude
        values.push((halfToFloat(h) + halfToFloat(next)) / 2);
        expected.push(h & 1 ? next : h);
      }
    }
    const got = toF16(new Float32Array(values));
    for (let i = 0; i < values.length; i++) {
      if (got[i] !== expected[i]) assert.fail(`${values[i]} → 0x${got[i]!.toString(16)}, expected 0x${expected[i]!.toString(16)}`);
    }
  });

  it('handles overflow, tiny values, infinities and NaN like fp32_to_fp16', () => {
    const got = toF16(new Float32Array([65519.99, 65520, 1e6, -Infinity, NaN, 2 ** -26, -0, 1 / 3]));
    assert.deepEqual([...got], [0x7bff, 0x7c00, 0x7c00, 0xfc00, 0x7e00, 0, 0x8000, 0x3555]);
  });

  it('rounds to the nearest bfloat16, ties to even, keeping NaNs quiet', () => {
    const values: number[] = [];
    const expected: number[] = [];
    for (let b = 0; b < 0x10000; b++) {
      if (((b >> 7) & 0xff) === 0xff) continue;
      values.push(bf16ToFloat(b));
      expected.push(b);
      if ((b & 0x7fff) < 0x7f7f) {
        values.push((bf16ToFloat(b) + bf16ToFloat(b + 1)) / 2);
        expected.push(b & 1 ? b + 1 : b);
      }
    }
    const got = toBF16(new Float32Array(values));
    for (let i = 0; i < values.length; i++) {
      if (got[i] !== expected[i]) assert.fail(`${values[i]} → 0x${got[i]!.toString(16)}, expected 0x${expected[i]!.toString(16)}`);
    }
    assert.deepEqual([...toBF16(new Float32Array([NaN, Infinity, -Infinity]))], [0x7fc0, 0x7f80, 0xff80]);
  });
});
