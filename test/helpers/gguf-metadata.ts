// Test-only GGUF header reader: returns the key/value metadata and stops before the tensor infos.
// The engine reads GGUF natively; this exists so tokenizer tests can run without the addon.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export type GgufValue =
  | number
  | bigint
  | boolean
  | string
  | GgufValue[]
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;

export interface GgufHeader {
  version: number;
  tensorCount: bigint;
  metadata: Record<string, GgufValue>;
}

const enum T {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
}

const ELEMENT_SIZE: Record<number, number> = {
  [T.U8]: 1, [T.I8]: 1, [T.U16]: 2, [T.I16]: 2, [T.U32]: 4, [T.I32]: 4,
  [T.F32]: 4, [T.BOOL]: 1, [T.U64]: 8, [T.I64]: 8, [T.F64]: 8,
};

class TruncatedError extends Error {}

class Cursor {
  private pos = 0;
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true }); // a token may be U+FEFF itself
  private readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    // A plain Uint8Array view: Node's Buffer#slice would share memory instead of copying.
    this.buf = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new TruncatedError('GGUF: unexpected end of file');
  }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(): bigint { this.need(8); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  count(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('GGUF: length too large');
    return Number(v);
  }
  string(): string {
    const n = this.count();
    this.need(n);
    const s = this.utf8.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  scalar(type: number): GgufValue {
    const size = ELEMENT_SIZE[type];
    if (size === undefined) throw new Error(`GGUF: unknown value type ${type}`);
    this.need(size);
    const v = this.view, p = this.pos;
    this.pos += size;
    switch (type) {
      case T.U8: return v.getUint8(p);
      case T.I8: return v.getInt8(p);
      case T.U16: return v.getUint16(p, true);
      case T.I16: return v.getInt16(p, true);
      case T.U32: return v.getUint32(p, true);
      case T.I32: return v.getInt32(p, true);
      case T.F32: return v.getFloat32(p, true);
      case T.BOOL: return v.getUint8(p) !== 0;
      case T.U64: return v.getBigUint64(p, true);
      case T.I64: return v.getBigInt64(p, true);
      default: return v.getFloat64(p, true);
    }
  }
  numericArray(type: number, n: number): GgufValue {
    const size = ELEMENT_SIZE[type]!;
    this.need(n * size);
    // Copy so the typed array is aligned regardless of its offset in the file.
    const bytes = this.buf.slice(this.pos, this.pos + n * size).buffer;
    this.pos += n * size;
    switch (type) {
      case T.U8: return new Uint8Array(bytes);
      case T.I8: return new Int8Array(bytes);
      case T.U16: return new Uint16Array(bytes);
      case T.I16: return new Int16Array(bytes);
      case T.U32: return new Uint32Array(bytes);
      case T.I32: return new Int32Array(bytes);
      case T.F32: return new Float32Array(bytes);
      case T.U64: return new BigUint64Array(bytes);
      case T.I64: return new BigInt64Array(bytes);
      case T.F64: return new Float64Array(bytes);
      default: return Array.from(new Uint8Array(bytes), (b) => b !== 0);
    }
  }
  value(type: number): GgufValue {
    if (type === T.STRING) return this.string();
    if (type !== T.ARRAY) return this.scalar(type);
    const elementType = this.u32();
    const n = this.count();
    if (elementType === T.STRING) {
      const out: string[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = this.string();
      return out;
    }
    if (elementType === T.ARRAY) {
      const out: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = this.value(T.ARRAY);
      return out;
    }
    return this.numericArray(elementType, n);
  }
}

export function parseGgufHeader(buf: Uint8Array): GgufHeader {
  const c = new Cursor(buf);
  const magic = c.u32();
  if (magic !== 0x46554747) throw new Error('GGUF: bad magic (not a GGUF file)');
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new Error(`GGUF: unsupported version ${version}`);
  const tensorCount = c.u64();
  const kvCount = c.count();
  const metadata: Record<string, GgufValue> = {};
  for (let i = 0; i < kvCount; i++) {
    const key = c.string();
    metadata[key] = c.value(c.u32());
  }
  return { version, tensorCount, metadata };
}

/** Reads only as much of the file as the header needs (model files can be gigabytes). */
export function readGgufMetadata(path: string): Record<string, GgufValue> {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    for (let want = Math.min(size, 4 << 20); ; want = Math.min(size, want * 4)) {
      const buf = new Uint8Array(want);
      readSync(fd, buf, 0, want, 0);
      try {
        return parseGgufHeader(buf).metadata;
      } catch (e) {
        if (!(e instanceof TruncatedError) || want === size) throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}
