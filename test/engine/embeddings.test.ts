import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { poolEmbedding } from '../../src/engine/embeddings.js';

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

function assertClose(actual: Float32Array, expected: number[], eps = 1e-6): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) <= eps, `[${i}] ${x} != ${expected[i]}`));
}

// Three tokens of width 2:
//   t0 = (3, 4)   t1 = (1, -2)   t2 = (-1, 0)
const hidden = new Float32Array([3, 4, 1, -2, -1, 0]);

describe('poolEmbedding', () => {
  it('mean pooling averages the rows, then normalises', () => {
    // mean = (3/3, 2/3) = (1, 2/3); length = sqrt(13)/3 → (3/sqrt(13), 2/sqrt(13))
    assertClose(poolEmbedding(hidden, 2, 'mean'), [3 / Math.sqrt(13), 2 / Math.sqrt(13)]);
  });

  it('cls pooling takes the first row', () => {
    assertClose(poolEmbedding(hidden, 2, 'cls'), [0.6, 0.8]);
  });

  it('last pooling takes the last row', () => {
    assertClose(poolEmbedding(hidden, 2, 'last'), [-1, 0]);
  });

  it('a wider example: mean of two rows of width 3', () => {
    // rows (1, 2, 2) and (1, 0, 2): mean (1, 1, 2), length sqrt(6)
    const v = poolEmbedding(new Float32Array([1, 2, 2, 1, 0, 2]), 3, 'mean');
    assertClose(v, [1 / Math.sqrt(6), 1 / Math.sqrt(6), 2 / Math.sqrt(6)]);
  });

  it('a single token gives the same vector for every pooling', () => {
    const one = new Float32Array([0, 5, 0, 0]);
    for (const p of ['mean', 'cls', 'last'] as const) assertClose(poolEmbedding(one, 4, p), [0, 1, 0, 0]);
  });

  it('every result has unit length', () => {
    const big = new Float32Array(7 * 16).map((_, i) => Math.sin(i * 1.7) * 100 + (i % 5));
    for (const p of ['mean', 'cls', 'last'] as const) {
      const v = poolEmbedding(big, 16, p);
      assert.equal(v.length, 16);
      assert.ok(Math.abs(norm(v) - 1) < 1e-5, `${p}: length ${norm(v)}`);
    }
  });

  it('does not change the input', () => {
    const copy = hidden.slice();
    poolEmbedding(hidden, 2, 'cls');
    poolEmbedding(hidden, 2, 'last');
    poolEmbedding(hidden, 2, 'mean');
    assert.deepEqual(copy, hidden);
  });

  it('a zero vector stays zero, not NaN', () => {
    for (const p of ['mean', 'cls', 'last'] as const) {
      const v = poolEmbedding(new Float32Array(6), 3, p);
      assert.deepEqual(Array.from(v), [0, 0, 0]);
    }
    // Rows that cancel out under mean pooling.
    assert.deepEqual(Array.from(poolEmbedding(new Float32Array([1, -2, -1, 2]), 2, 'mean')), [0, 0]);
  });

  it('throws RangeError when the values do not make whole rows', () => {
    assert.throws(() => poolEmbedding(new Float32Array(5), 2, 'mean'), RangeError);
    assert.throws(() => poolEmbedding(new Float32Array(0), 2, 'cls'), RangeError);
    assert.throws(() => poolEmbedding(new Float32Array(4), 0, 'last'), RangeError);
    assert.throws(() => poolEmbedding(new Float32Array(2), 4, 'mean'), RangeError);
  });
});
