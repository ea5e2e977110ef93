// Which tensors a model of a shape has (names and dims as llama.cpp expects them), and how each is initialised.
import { llama3RopeFactors } from './llama3-rope.js';
import { headDim, type ModelShape } from './shapes.js';

export type TensorInit =
  | { kind: 'uniform'; mean: number; std: number; zeroRowsFrom?: number }
  | { kind: 'values'; values: Float32Array };

export interface TensorSpec {
  name: string;
  dims: number[]; // GGUF order: dims[0] = ne0 = row length (input features), dims[1] = rows
  layer?: number;
  init: TensorInit;
}

// Init scales. Every sublayer reads an RMS-normalised input (RMS ≈ 1), so a matrix with std g/sqrt(fan_in)
// gives outputs of RMS ≈ g whatever the width; that keeps every shape equally healthy.
// - Logits are token_embd (tied) · normalised final state, so their std over the vocab is
//   embd_std * sqrt(hidden): LOGIT_STD / sqrt(hidden) gives logits with std ≈ LOGIT_STD (measured 4.0 in
//   llama.cpp for every shape), so the top-1 beats the runner-up by about 1 logit on average. A few positions
//   are still near-ties, as in any model with random logits: top-1 comparisons should skip tiny margins.
// - With tied embeddings the input token's own logit is ≈ LOGIT_STD² / RMS(residual) above the others, so the
//   sublayers add RMS ≈ SUBLAYER_GAIN each; the residual then outweighs the raw embedding (RMS LOGIT_STD /
//   sqrt(hidden)) and the model does not just repeat its input token.
// - Q and K slightly above 1 give attention scores of std ≈ QK_GAIN², so attention is neither uniform nor
//   one-hot and positions matter.
// - Norm weights are 1 ± a little noise, so a wrong norm (or a missing one) shows in the output.
const LOGIT_STD = 4;
const QK_GAIN = 1.4;
const SUBLAYER_GAIN = 2;
const NORM_NOISE = 0.05;
const BIAS_STD = 0.5;

const matrix = (fanIn: number, gain = 1): TensorInit => ({ kind: 'uniform', mean: 0, std: gain / Math.sqrt(fanIn) });
const norm: TensorInit = { kind: 'uniform', mean: 1, std: NORM_NOISE };
const bias: TensorInit = { kind: 'uniform', mean: 0, std: BIAS_STD };

/**
 * `realTokens`: how many tokens the tokenizer really has; the embedding rows of the filler tokens past them are
 * zero (their logits are then 0, far below the top), as a trained model's unused tokens are never predicted.
 */
export function tensorLayout(shape: ModelShape, realTokens = shape.vocabSize): TensorSpec[] {
  const d = shape.embeddingLength;
  const hd = headDim(shape);
  const qDim = shape.headCount * hd;
  const kvDim = shape.headCountKv * hd;
  const ffn = shape.feedForwardLength;
  const embedding: TensorInit = { kind: 'uniform', mean: 0, std: LOGIT_STD / Math.sqrt(d), zeroRowsFrom: realTokens };

  const specs: TensorSpec[] = [{ name: 'token_embd.weight', dims: [d, shape.vocabSize], init: embedding }];
  if (shape.llama3RopeScaling) {
    const values = llama3RopeFactors(hd, shape.ropeTheta, shape.llama3RopeScaling);
    specs.push({ name: 'rope_freqs.weight', dims: [hd / 2], init: { kind: 'values', values } });
  }
  for (let layer = 0; layer < shape.blockCount; layer++) {
    const blk = (name: string, dims: number[], init: TensorInit) => specs.push({ name: `blk.${layer}.${name}`, dims, layer, init });
    blk('attn_norm.weight', [d], norm);
    blk('attn_q.weight', [d, qDim], matrix(d, QK_GAIN));
    if (shape.qkvBias) blk('attn_q.bias', [qDim], bias);
    blk('attn_k.weight', [d, kvDim], matrix(d, QK_GAIN));
    if (shape.qkvBias) blk('attn_k.bias', [kvDim], bias);
    blk('attn_v.weight', [d, kvDim], matrix(d));
    if (shape.qkvBias) blk('attn_v.bias', [kvDim], bias);
    blk('attn_output.weight', [qDim, d], matrix(qDim, SUBLAYER_GAIN));
    blk('ffn_norm.weight', [d], norm);
    blk('ffn_gate.weight', [d, ffn], matrix(d));
    blk('ffn_up.weight', [d, ffn], matrix(d));
    blk('ffn_down.weight', [ffn, d], matrix(ffn, SUBLAYER_GAIN));
  }
  specs.push({ name: 'output_norm.weight', dims: [d], init: norm });
  if (!shape.tiedEmbeddings) specs.push({ name: 'output.weight', dims: [d, shape.vocabSize], init: embedding });
  return specs;
}
