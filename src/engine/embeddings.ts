// Sentence embeddings from a model's final hidden states: pooled over the tokens, then L2-normalised.
export type Pooling = 'mean' | 'cls' | 'last';

/** hidden: [tokens][width] row-major. Returns one unit-length vector of `width` values. */
export function poolEmbedding(hidden: Float32Array, width: number, pooling: Pooling): Float32Array {
  const tokens = hidden.length / width;
  if (!Number.isInteger(tokens) || tokens < 1) throw new RangeError(`hidden states of ${hidden.length} values do not hold rows of ${width}`);
  const out = new Float32Array(width);
  if (pooling === 'mean') {
    const sum = new Float64Array(width);
    for (let t = 0; t < tokens; t++) for (let i = 0; i < width; i++) sum[i] += hidden[t * width + i];
    for (let i = 0; i < width; i++) out[i] = sum[i] / tokens;
  } else {
    const row = pooling === 'cls' ? 0 : tokens - 1;
    out.set(hidden.subarray(row * width, (row + 1) * width));
  }
  let norm = 0;
  for (let i = 0; i < width; i++) norm += out[i] * out[i];
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < width; i++) out[i] /= norm;
  return out;
}
