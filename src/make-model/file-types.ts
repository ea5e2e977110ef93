// File types (llama.cpp's `llama_ftype`) and which tensor gets which element type in each, following
// llama.cpp's llama-quant.cpp (`llama_tensor_get_type` and the "should this tensor be quantized" rules).
import { blockElems, GgmlType, isFloatType } from './tensor-types.js';

export interface FileType {
  name: string; // as the --type flag spells it
  ftype: number; // general.file_type
  defaultType: GgmlType;
}

export const FILE_TYPES: Readonly<Record<string, FileType>> = {
  f32: { name: 'f32', ftype: 0, defaultType: GgmlType.F32 },
  f16: { name: 'f16', ftype: 1, defaultType: GgmlType.F16 },
  bf16: { name: 'bf16', ftype: 32, defaultType: GgmlType.BF16 },
  q8_0: { name: 'q8_0', ftype: 7, defaultType: GgmlType.Q8_0 },
  q4_0: { name: 'q4_0', ftype: 2, defaultType: GgmlType.Q4_0 },
  q4_1: { name: 'q4_1', ftype: 3, defaultType: GgmlType.Q4_1 },
  q5_0: { name: 'q5_0', ftype: 8, defaultType: GgmlType.Q5_0 },
  q5_1: { name: 'q5_1', ftype: 9, defaultType: GgmlType.Q5_1 },
  q4_k_m: { name: 'q4_k_m', ftype: 15, defaultType: GgmlType.Q4_K },
  q5_k_m: { name: 'q5_k_m', ftype: 17, defaultType: GgmlType.Q5_K },
  q6_k: { name: 'q6_k', ftype: 18, defaultType: GgmlType.Q6_K },
};

export interface TensorContext {
  name: string;
  dims: readonly number[];
  layer?: number;
  blockCount: number;
  tiedEmbeddings: boolean;
}

// llama.cpp's "use_more_bits": the first and last eighth of the layers, and every third one in between.
const useMoreBits = (layer: number, n: number) =>
  layer < Math.floor(n / 8) || layer >= Math.floor((7 * n) / 8) || (layer - Math.floor(n / 8)) % 3 === 2;

const isMediumK = (ft: FileType) => ft.name === 'q4_k_m' || ft.name === 'q5_k_m';

function isQuantizable(t: TensorContext): boolean {
  return t.dims.length >= 2 && t.name.endsWith('weight') && !t.name.includes('_norm.weight');
}

// A row length that is not a whole number of blocks falls back the way llama.cpp does.
function withFallback(type: GgmlType, rowLength: number): GgmlType {
  if (rowLength % blockElems(type) === 0) return type;
  const fallback: Partial<Record<GgmlType, GgmlType>> = {
    [GgmlType.Q4_K]: GgmlType.Q5_0,
    [GgmlType.Q5_K]: GgmlType.Q5_1,
    [GgmlType.Q6_K]: GgmlType.Q8_0,
  };
  const next = fallback[type];
  if (next === undefined) throw new Error(`rows of ${rowLength} values cannot be stored as type ${GgmlType[type]}`);
  return rowLength % blockElems(next) === 0 ? next : GgmlType.F16;
}

export function tensorType(ft: FileType, t: TensorContext): GgmlType {
  if (!isQuantizable(t)) return GgmlType.F32;
  let type = ft.defaultType;
  if (isFloatType(type)) return type;
  const rowLength = t.dims[0]!;
  const isOutput = t.name === 'output.weight' || (t.tiedEmbeddings && t.name === 'token_embd.weight');
  if (isOutput) {
    if (rowLength % blockElems(type) !== 0) type = GgmlType.Q8_0;
    else if (type !== GgmlType.Q8_0) type = GgmlType.Q6_K;
  } else if (isMediumK(ft) && t.layer !== undefined && useMoreBits(t.layer, t.blockCount)
    && (t.name.includes('attn_v.weight') || t.name.includes('ffn_down'))) {
    type = GgmlType.Q6_K;
  }
  return withFallback(type, rowLength);
}
