// ggml tensor element types as GGUF numbers them (same ids as native/engine/quant.h), with their block layouts.

export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  BF16 = 30,
}

interface TypeLayout {
  name: string; // as llama.cpp prints it
  blockElems: number;
  blockBytes: number;
}

const LAYOUTS: Record<GgmlType, TypeLayout> = {
  [GgmlType.F32]: { name: 'f32', blockElems: 1, blockBytes: 4 },
  [GgmlType.F16]: { name: 'f16', blockElems: 1, blockBytes: 2 },
  [GgmlType.BF16]: { name: 'bf16', blockElems: 1, blockBytes: 2 },
  [GgmlType.Q4_0]: { name: 'q4_0', blockElems: 32, blockBytes: 18 },
  [GgmlType.Q4_1]: { name: 'q4_1', blockElems: 32, blockBytes: 20 },
  [GgmlType.Q5_0]: { name: 'q5_0', blockElems: 32, blockBytes: 22 },
  [GgmlType.Q5_1]: { name: 'q5_1', blockElems: 32, blockBytes: 24 },
  [GgmlType.Q8_0]: { name: 'q8_0', blockElems: 32, blockBytes: 34 },
  [GgmlType.Q4_K]: { name: 'q4_K', blockElems: 256, blockBytes: 144 },
  [GgmlType.Q5_K]: { name: 'q5_K', blockElems: 256, blockBytes: 176 },
  [GgmlType.Q6_K]: { name: 'q6_K', blockElems: 256, blockBytes: 210 },
};

export function typeName(type: GgmlType): string {
  return LAYOUTS[type].name;
}

export function blockElems(type: GgmlType): number {
  return LAYOUTS[type].blockElems;
}

export function isFloatType(type: GgmlType): boolean {
  return type === GgmlType.F32 || type === GgmlType.F16 || type === GgmlType.BF16;
}

/** Bytes taken by one row of `n` values; `n` must be a whole number of blocks. */
export function rowBytes(type: GgmlType, n: number): number {
  const { blockElems: be, blockBytes } = LAYOUTS[type];
  if (n % be !== 0) throw new Error(`a row of ${n} values is not a whole number of ${LAYOUTS[type].name} blocks (${be})`);
  return (n / be) * blockBytes;
}

/** Bytes taken by a tensor with these GGUF dims (dims[0] = row length). */
export function tensorBytes(type: GgmlType, dims: readonly number[]): number {
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  return rowBytes(type, dims[0]!) * rows;
}
