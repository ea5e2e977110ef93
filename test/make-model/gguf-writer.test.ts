import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeGgufHeader, GgufFileWriter, gguf, GgufValueType, type GgufValue } from '../../src/make-model/gguf-writer.js';
import { GgmlType } from '../../src/make-model/tensor-types.js';

// A minimal GGUF reader written from the spec, independent of the writer.
function readGguf(buf: Buffer) {
  let p = 0;
  const u32 = () => { const v = buf.readUInt32LE(p); p += 4; return v; };
  const u64 = () => { const v = buf.readBigUInt64LE(p); p += 8; return v; };
  const str = () => { const n = Number(u64()); const s = buf.toString('utf8', p, p + n); p += n; return s; };
  const value = (type: number): unknown => {
    switch (type) {
      case 0: return buf.readUInt8(p++);
      case 1: return buf.readInt8(p++);
      case 2: { const v = buf.readUInt16LE(p); p += 2; return v; }
      case 3: { const v = buf.readInt16LE(p); p += 2; return v; }
      case 4: return u32();
      case 5: { const v = buf.readInt32LE(p); p += 4; return v; }
      case 6: { const v = buf.readFloatLE(p); p += 4; return v; }
      case 7: return buf.readUInt8(p++) !== 0;
      case 8: return str();
      case 9: { const itemType = u32(); const n = Number(u64()); return { itemType, items: Array.from({ length: n }, () => value(itemType)) }; }
      case 10: return u64();
      case 11: { const v = buf.readBigInt64LE(p); p += 8; return v; }
      case 12: { const v = buf.readDoubleLE(p); p += 8; return v; }
      default: throw new Error(`bad value type ${type}`);
    }
  };
  assert.equal(buf.toString('latin1', 0, 4), 'GGUF');
  p = 4;
  const version = u32();
  const tensorCount = Number(u64());
  const kvCount = Number(u64());
  const metadata = new Map<string, { type: number; value: unknown }>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const type = u32();
    metadata.set(key, { type, value: value(type) });
  }
  const tensors = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nDims = u32();
    const dims = Array.from({ length: nDims }, () => Number(u64()));
    tensors.push({ name, dims, type: u32(), offset: Number(u64()) });
  }
  const alignment = (metadata.get('general.alignment')?.value as number | undefined) ?? 32;
  const dataStart = Math.ceil(p / alignment) * alignment;
  return { version, metadata, tensors, dataStart, headerEnd: p };
}

const dir = mkdtempSync(join(tmpdir(), 'omni-gguf-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('GGUF writer', () => {
  it('round-trips every metadata value type, arrays and nested arrays included', () => {
    const metadata: [string, GgufValue][] = [
      ['t.u8', gguf.u8(250)], ['t.i8', gguf.i8(-100)], ['t.u16', gguf.u16(65000)], ['t.i16', gguf.i16(-32000)],
      ['t.u32', gguf.u32(4_000_000_000)], ['t.i32', gguf.i32(-2_000_000_000)], ['t.f32', gguf.f32(1.5)],
      ['t.bool', gguf.bool(true)], ['t.false', gguf.bool(false)], ['t.str', gguf.str('héllo ✓ 🦙')], ['t.empty', gguf.str('')],
      ['t.u64', gguf.u64(2n ** 63n + 5n)], ['t.i64', gguf.i64(-(2n ** 62n))], ['t.f64', gguf.f64(Math.PI)],
      ['a.i32', gguf.array(GgufValueType.INT32, new Int32Array([1, -2, 3]))],
      ['a.str', gguf.array(GgufValueType.STRING, ['a', 'Ġb c', ''])],
      ['a.f32', gguf.array(GgufValueType.FLOAT32, [0.25, -8])],
      ['a.bool', gguf.array(GgufValueType.BOOL, [true, false])],
      ['a.u64', gguf.array(GgufValueType.UINT64, [1n, 2n])],
      ['a.empty', gguf.array(GgufValueType.UINT8, [])],
      ['a.nested', gguf.arrays([gguf.array(GgufValueType.INT16, [1, 2]), gguf.array(GgufValueType.STRING, ['x'])])],
    ];
    const { header } = encodeGgufHeader(metadata, []);
    const r = readGguf(header);
    assert.equal(r.version, 3);
    assert.equal(header.length % 32, 0);
    const get = (k: string) => r.metadata.get(k);
    assert.deepEqual([...r.metadata.keys()], metadata.map(([k]) => k));
    assert.deepEqual(get('t.u8'), { type: 0, value: 250 });
    assert.deepEqual(get('t.i8'), { type: 1, value: -100 });
    assert.deepEqual(get('t.u16'), { type: 2, value: 65000 });
    assert.deepEqual(get('t.i16'), { type: 3, value: -32000 });
    assert.deepEqual(get('t.u32'), { type: 4, value: 4_000_000_000 });
    assert.deepEqual(get('t.i32'), { type: 5, value: -2_000_000_000 });
    assert.deepEqual(get('t.f32'), { type: 6, value: 1.5 });
    assert.deepEqual(get('t.bool'), { type: 7, value: true });
    assert.deepEqual(get('t.false'), { type: 7, value: false });
    assert.deepEqual(get('t.str'), { type: 8, value: 'héllo ✓ 🦙' });
    assert.deepEqual(get('t.empty'), { type: 8, value: '' });
    assert.deepEqual(get('t.u64'), { type: 10, value: 2n ** 63n + 5n });
    assert.deepEqual(get('t.i64'), { type: 11, value: -(2n ** 62n) });
    assert.deepEqual(get('t.f64'), { type: 12, value: Math.PI });
    assert.deepEqual(get('a.i32'), { type: 9, value: { itemType: 5, items: [1, -2, 3] } });
    assert.deepEqual(get('a.str'), { type: 9, value: { itemType: 8, items: ['a', 'Ġb c', ''] } });
    assert.deepEqual(get('a.f32'), { type: 9, value: { itemType: 6, items: [0.25, -8] } });
    assert.deepEqual(get('a.bool'), { type: 9, value: { itemType: 7, items: [true, false] } });
    assert.deepEqual(get('a.u64'), { type: 9, value: { itemType: 10, items: [1n, 2n] } });
    assert.deepEqual(get('a.empty'), { type: 9, value: { itemType: 0, items: [] } });
    assert.deepEqual(get('a.nested'), {
      type: 9,
      value: { itemType: 9, items: [{ itemType: 3, items: [1, 2] }, { itemType: 8, items: ['x'] }] },
    });
  });

  it('encodes a small header byte for byte as the spec lays it out', () => {
    const { header, offsets } = encodeGgufHeader([['k', gguf.u32(7)]], [{ name: 'w', dims: [2, 3], type: GgmlType.F16 }]);
    const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
    const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
    const expected = Buffer.concat([
      Buffer.from('GGUF', 'latin1'), u32(3), u64(1), u64(1),
      u64(1), Buffer.from('k'), u32(4), u32(7), // key, type UINT32, value
      u64(1), Buffer.from('w'), u32(2), u64(2), u64(3), u32(1), u64(0), // name, n_dims, dims, type F16, offset
    ]);
    assert.deepEqual(header.subarray(0, expected.length), expected);
    assert.equal(header.length, 96); // 82 bytes padded to the 32-byte alignment
    assert.ok(header.subarray(expected.length).every((b) => b === 0));
    assert.deepEqual(offsets, [0]);
  });

  it('streams tensor data in chunks at aligned offsets with zero padding', () => {
    const path = join(dir, 'tensors.gguf');
    const tensors = [
      { name: 'a', dims: [3], type: GgmlType.F32 }, // 12 bytes, padded to 32
      { name: 'b', dims: [32, 2], type: GgmlType.Q8_0 }, // 2 blocks of 34 bytes
      { name: 'c', dims: [5, 1, 1], type: GgmlType.F16 },
    ];
    const w = new GgufFileWriter(path, [['general.alignment', gguf.u32(32)], ['x', gguf.str('y')]], tensors);
    w.write(new Uint8Array([1, 2, 3, 4, 5, 6]));
    w.write(new Uint8Array([7, 8, 9, 10, 11, 12]));
    w.finishTensor();
    w.write(new Uint8Array(68).fill(0xab));
    w.finishTensor();
    w.write(new Uint8Array(10).fill(0xcd));
    w.finishTensor();
    w.close();

    const buf = readFileSync(path);
    const r = readGguf(buf);
    assert.deepEqual(r.tensors, [
      { name: 'a', dims: [3], type: 0, offset: 0 },
      { name: 'b', dims: [32, 2], type: 8, offset: 32 },
      { name: 'c', dims: [5, 1, 1], type: 1, offset: 128 },
    ]);
    assert.equal(r.dataStart % 32, 0);
    assert.ok(buf.subarray(r.headerEnd, r.dataStart).every((b) => b === 0));
    const data = buf.subarray(r.dataStart);
    assert.deepEqual([...data.subarray(0, 12)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.ok(data.subarray(12, 32).every((b) => b === 0));
    assert.ok(data.subarray(32, 100).every((b) => b === 0xab));
    assert.ok(data.subarray(100, 128).every((b) => b === 0));
    assert.ok(data.subarray(128, 138).every((b) => b === 0xcd));
    assert.equal(data.length, 160);
  });

  it('refuses wrong tensor sizes, duplicate keys and a conflicting general.alignment', () => {
    const path = join(dir, 'bad.gguf');
    const w = new GgufFileWriter(path, [], [{ name: 'a', dims: [4], type: GgmlType.F32 }]);
    assert.throws(() => w.write(new Uint8Array(17)), /takes 16 bytes/);
    w.write(new Uint8Array(8));
    assert.throws(() => w.finishTensor(), /takes 16 bytes; got 8/);
    w.abort();
    assert.throws(() => encodeGgufHeader([['k', gguf.u8(1)], ['k', gguf.u8(2)]], []), /given twice/);
    assert.throws(() => encodeGgufHeader([['general.alignment', gguf.u32(64)]], []), /general.alignment/);
    assert.throws(() => encodeGgufHeader([], [{ name: 'q', dims: [33, 1], type: GgmlType.Q4_0 }]), /whole number of q4_0 blocks/);
  });
});
