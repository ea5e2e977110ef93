// A general GGUF v3 writer: metadata of every value type, tensor infos, aligned tensor data streamed to
// the file in order, so a model never has to sit whole in memory.
// Layout: "GGUF" u32 version, u64 tensor count, u64 kv count, kvs, tensor infos, padding, data.
import { closeSync, openSync, writeSync } from 'node:fs';
import { GgmlType, tensorBytes, typeName } from './tensor-types.js';

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

type ScalarType = Exclude<GgufValueType, GgufValueType.ARRAY>;
type Scalar = number | bigint | boolean | string;

export type GgufValue =
  | { type: ScalarType; value: Scalar }
  | { type: GgufValueType.ARRAY; itemType: ScalarType; items: ArrayLike<Scalar> }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.ARRAY; items: readonly GgufValue[] };

/** Constructors for metadata values, named after the GGUF types. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: GgufValueType.UINT8, value }),
  i8: (value: number): GgufValue => ({ type: GgufValueType.INT8, value }),
  u16: (value: number): GgufValue => ({ type: GgufValueType.UINT16, value }),
  i16: (value: number): GgufValue => ({ type: GgufValueType.INT16, value }),
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  u64: (value: number | bigint): GgufValue => ({ type: GgufValueType.UINT64, value }),
  i64: (value: number | bigint): GgufValue => ({ type: GgufValueType.INT64, value }),
  f64: (value: number): GgufValue => ({ type: GgufValueType.FLOAT64, value }),
  array: (itemType: ScalarType, items: ArrayLike<Scalar>): GgufValue => ({ type: GgufValueType.ARRAY, itemType, items }),
  arrays: (items: readonly GgufValue[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.ARRAY, items }),
};

export interface GgufTensorInfo {
  name: string;
  dims: readonly number[]; // ne0 first: dims[0] is the row length
  type: GgmlType;
}

export const DEFAULT_ALIGNMENT = 32;

/** A growable little-endian byte buffer. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number) { this.reserve(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number) { this.reserve(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number) { this.reserve(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number) { this.reserve(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number) { this.reserve(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number) { this.reserve(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number) { this.reserve(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number) { this.reserve(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: number | bigint) { this.reserve(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  i64(v: number | bigint) { this.reserve(8); this.buf.writeBigInt64LE(BigInt(v), this.length); this.length += 8; }
  str(s: string) {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(n);
    this.reserve(n);
    this.buf.write(s, this.length, 'utf8');
    this.length += n;
  }
  zeros(n: number) { this.reserve(n); this.buf.fill(0, this.length, this.length + n); this.length += n; }
  bytes(): Buffer { return this.buf.subarray(0, this.length); }
}

function writeScalar(sink: ByteSink, type: ScalarType, v: Scalar): void {
  const num = (): number => {
    if (typeof v !== 'number') throw new Error(`expected a number for GGUF type ${GgufValueType[type]}, got ${typeof v}`);
    return v;
  };
  switch (type) {
    case GgufValueType.UINT8: return sink.u8(num());
    case GgufValueType.INT8: return sink.i8(num());
    case GgufValueType.UINT16: return sink.u16(num());
    case GgufValueType.INT16: return sink.i16(num());
    case GgufValueType.UINT32: return sink.u32(num());
    case GgufValueType.INT32: return sink.i32(num());
    case GgufValueType.FLOAT32: return sink.f32(num());
    case GgufValueType.FLOAT64: return sink.f64(num());
    case GgufValueType.BOOL:
      if (typeof v !== 'boolean') throw new Error(`expected a boolean for GGUF type BOOL, got ${typeof v}`);
      return sink.u8(v ? 1 : 0);
    case GgufValueType.STRING:
      if (typeof v !== 'string') throw new Error(`expected a string for GGUF type STRING, got ${typeof v}`);
      return sink.str(v);
    case GgufValueType.UINT64:
    case GgufValueType.INT64:
      if (typeof v !== 'number' && typeof v !== 'bigint') throw new Error(`expected an integer for GGUF type ${GgufValueType[type]}`);
      return type === GgufValueType.UINT64 ? sink.u64(v) : sink.i64(v);
  }
}

function writeValue(sink: ByteSink, value: GgufValue): void {
  if (value.type !== GgufValueType.ARRAY) return writeScalar(sink, value.type, value.value);
  sink.u32(value.itemType);
  sink.u64(value.items.length);
  if (value.itemType === GgufValueType.ARRAY) {
    for (const item of value.items as readonly GgufValue[]) {
      if (item.type !== GgufValueType.ARRAY) throw new Error('an array of arrays holds a non-array item');
      writeValue(sink, item);
    }
  } else {
    const items = value.items as ArrayLike<Scalar>;
    for (let i = 0; i < items.length; i++) writeScalar(sink, value.itemType, items[i]!);
  }
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Encodes the header (everything before the tensor data, padding included) and each tensor's data offset. */
export function encodeGgufHeader(
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorInfo[],
  alignment = DEFAULT_ALIGNMENT,
): { header: Buffer; offsets: number[]; dataBytes: number } {
  const keys = new Set<string>();
  for (const [key, value] of metadata) {
    if (keys.has(key)) throw new Error(`metadata key ${key} is given twice`);
    keys.add(key);
    if (key === 'general.alignment' && (value.type !== GgufValueType.UINT32 || value.value !== alignment)) {
      throw new Error(`general.alignment must be a u32 equal to the writer's alignment (${alignment})`);
    }
  }
  const sink = new ByteSink();
  sink.u32(0x46554747); // "GGUF" little-endian
  sink.u32(3);
  sink.u64(tensors.length);
  sink.u64(metadata.length);
  for (const [key, value] of metadata) {
    sink.str(key);
    sink.u32(value.type);
    writeValue(sink, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`tensor ${t.name} is given twice`);
    names.add(t.name);
    sink.str(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(t.type);
    sink.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + tensorBytes(t.type, t.dims), alignment);
  }
  sink.zeros(alignUp(sink.length, alignment) - sink.length);
  return { header: Buffer.from(sink.bytes()), offsets, dataBytes: offset };
}

/**
 * Writes a GGUF file front to back: the header on open, then each tensor's bytes in the order the tensors
 * were given (any number of `write` calls per tensor, then `finishTensor`), then `close`.
 */
export class GgufFileWriter {
  private readonly fd: number;
  private readonly tensors: readonly GgufTensorInfo[];
  private readonly alignment: number;
  private index = 0;
  private written = 0; // bytes of the current tensor so far
  private position: number;

  constructor(path: string, metadata: ReadonlyArray<readonly [string, GgufValue]>, tensors: readonly GgufTensorInfo[], alignment = DEFAULT_ALIGNMENT) {
    const { header } = encodeGgufHeader(metadata, tensors, alignment);
    this.tensors = tensors;
    this.alignment = alignment;
    this.fd = openSync(path, 'w');
    this.position = 0;
    this.put(header);
  }

  /** The tensor the next bytes belong to, or undefined when all are written. */
  get current(): GgufTensorInfo | undefined {
    return this.tensors[this.index];
  }

  write(bytes: Uint8Array): void {
    const t = this.current;
    if (!t) throw new Error('all tensors are already written');
    const expected = tensorBytes(t.type, t.dims);
    if (this.written + bytes.length > expected) {
      throw new Error(`tensor ${t.name} (${typeName(t.type)}) takes ${expected} bytes; got more`);
    }
    this.put(bytes);
    this.written += bytes.length;
  }

  finishTensor(): void {
    const t = this.current;
    if (!t) throw new Error('all tensors are already written');
    const expected = tensorBytes(t.type, t.dims);
    if (this.written !== expected) throw new Error(`tensor ${t.name} takes ${expected} bytes; got ${this.written}`);
    const pad = alignUp(this.position, this.alignment) - this.position;
    if (pad > 0) this.put(new Uint8Array(pad));
    this.index++;
    this.written = 0;
  }

  close(): void {
    closeSync(this.fd);
    if (this.index !== this.tensors.length) {
      throw new Error(`closed after ${this.index} of ${this.tensors.length} tensors`);
    }
  }

  /** Closes the file after a failure; the caller removes it. */
  abort(): void {
    closeSync(this.fd);
  }

  private put(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    this.position += bytes.length;
  }
}
