// Float32 values → the bytes of a tensor type. Float types are converted here; block types go through the
// engine's reference quantizers (native/engine/quant.cpp, reached through the addon).
import { quantize } from '../engine/native.js';
import { GgmlType, rowBytes, typeName } from './tensor-types.js';

/** Undefined when the addon's quantizer works, else why not (the addon is not built, say). */
export function quantizerProblem(): string | undefined {
  try {
    quantize(GgmlType.Q8_0, new Float32Array(32));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Exact IEEE round-to-nearest-even float32 → float16, like fp32_to_fp16 in native/engine/quant.h. */
export function toF16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const absx = x & 0x7fffffff;
    let h: number;
    if (absx >= 0x7f800000) {
      h = 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0);
    } else if (absx >= 0x477ff000) {
      h = 0x7c00; // rounds to infinity
    } else if (absx < 0x38800000) {
      if (absx < 0x33000000) {
        h = 0;
      } else {
        const shift = 126 - (absx >>> 23);
        const m = (absx & 0x7fffff) | 0x800000;
        h = m >>> shift;
        const rem = m & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (rem > halfway || (rem === halfway && (h & 1))) h++;
      }
    } else {
      // rebias the exponent, add just under half a unit (plus the kept lsb, so ties go to even) and truncate
      h = (absx - 0x38000000 + 0xfff + ((absx >>> 13) & 1)) >>> 13;
    }
    out[i] = sign | h;
  }
  return out;
}

/** Round-to-nearest-even float32 → bfloat16, NaNs kept quiet, like fp32_to_bf16 in native/engine/quant.h. */
export function toBF16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    out[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 64 : ((x + 0x7fff + ((x >>> 16) & 1)) / 65536) & 0xffff;
  }
  return out;
}

const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Encodes whole rows of `rowLength` values. The result may share memory with `values`. */
export function encodeRows(type: GgmlType, values: Float32Array, rowLength: number): Uint8Array {
  if (type === GgmlType.F32) return asBytes(values);
  if (type === GgmlType.F16) return asBytes(toF16(values));
  if (type === GgmlType.BF16) return asBytes(toBF16(values));
  const bytes = quantize(type, values);
  const expected = rowBytes(type, rowLength) * (values.length / rowLength);
  if (bytes.length !== expected) throw new Error(`quantize(${typeName(type)}) returned ${bytes.length} bytes, expected ${expected}`);
  return bytes;
}
