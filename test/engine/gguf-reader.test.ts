// The native GGUF reader: every metadata value type (nested arrays too) comes back as written,
// version 2 files load like version 3, and tensor data is found at its aligned offset.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadModel } from '../../src/engine/native.js';
import { encodeGgufHeader, gguf, GgufValueType } from '../../src/make-model/gguf-writer.js';
import { stories260K, tempDir } from '../helpers/paths.js';

const dir = tempDir();

test('every metadata value type round-trips through the native reader', async () => {
  const metadata = [
    ['general.architecture', gguf.str('test')],
    ['t.u8', gguf.u8(250)],
    ['t.i8', gguf.i8(-100)],
    ['t.u16', gguf.u16(65000)],
    ['t.i16', gguf.i16(-32000)],
    ['t.u32', gguf.u32(4_000_000_000)],
    ['t.i32', gguf.i32(-2_000_000_000)],
    ['t.f32', gguf.f32(1.5)],
    ['t.bool', gguf.bool(true)],
    ['t.str', gguf.str('héllo ✓ 🦙')],
    ['t.u64', gguf.u64(2n ** 52n + 1n)],
    ['t.i64', gguf.i64(-(2n ** 40n))],
    ['t.f64', gguf.f64(Math.PI)],
    ['t.arr_i32', gguf.array(GgufValueType.INT32, [1, -2, 3])],
    ['t.arr_f32', gguf.array(GgufValueType.FLOAT32, [0.5, -0.25])],
    ['t.arr_str', gguf.array(GgufValueType.STRING, ['a', '', '\uFEFFbom'])],
    ['t.arr_bool', gguf.array(GgufValueType.BOOL, [true, false])],
    ['t.arr_u64', gguf.array(GgufValueType.UINT64, [7n, 2n ** 33n])],
    ['t.nested', gguf.arrays([gguf.array(GgufValueType.UINT8, [1, 2]), gguf.array(GgufValueType.STRING, ['x'])])],
    ['t.empty', gguf.array(GgufValueType.INT32, [])],
  ] as const;
  const { header } = encodeGgufHeader(metadata, []);
  const file = path.join(dir, 'all-types.gguf');
  writeFileSync(file, header);
  const model = await loadModel(file, { vocabOnly: true });
  const meta = model.info().metadata;
  assert.equal(meta['t.u8'], 250);
  assert.equal(meta['t.i8'], -100);
  assert.equal(meta['t.u16'], 65000);
  assert.equal(meta['t.i16'], -32000);
  assert.equal(meta['t.u32'], 4_000_000_000);
  assert.equal(meta['t.i32'], -2_000_000_000);
  assert.equal(meta['t.f32'], 1.5);
  assert.equal(meta['t.bool'], true);
  assert.equal(meta['t.str'], 'héllo ✓ 🦙');
  assert.equal(meta['t.u64'], 2 ** 52 + 1);
  assert.equal(meta['t.i64'], -(2 ** 40));
  assert.equal(meta['t.f64'], Math.PI);
  assert.deepEqual(Array.from(meta['t.arr_i32'] as Int32Array), [1, -2, 3]);
  assert.ok(meta['t.arr_f32'] instanceof Float32Array);
  assert.deepEqual(Array.from(meta['t.arr_f32'] as Float32Array), [0.5, -0.25]);
  assert.deepEqual(meta['t.arr_str'], ['a', '', '\uFEFFbom'], 'strings keep a leading byte-order mark');
  assert.deepEqual(meta['t.arr_bool'], [true, false]);
  assert.deepEqual(Array.from(meta['t.arr_u64'] as Float64Array), [7, 2 ** 33]);
  const nested = meta['t.nested'] as unknown[];
  assert.deepEqual(Array.from(nested[0] as Uint8Array), [1, 2]);
  assert.deepEqual(nested[1], ['x']);
  assert.equal((meta['t.empty'] as Int32Array).length, 0);
  model.dispose();
});

test('a version 2 file loads like version 3', async () => {
  const bytes = Buffer.from(readFileSync(stories260K()));
  bytes.writeUInt32LE(2, 4);
  const file = path.join(dir, 'v2.gguf');
  writeFileSync(file, bytes);
  const model = await loadModel(file);
  assert.equal(model.info().ggufVersion, 2);
  assert.equal(model.info().hparams!.nLayer, 5);
  model.dispose();
});

test('the tensor index: aligned, in-bounds, non-overlapping data', async () => {
  const model = await loadModel(stories260K());
  const info = model.info();
  const spans = info.tensors.map((t) => [t.offset, t.offset + t.bytes] as const).sort((a, b) => a[0] - b[0]);
  for (const [i, [start, end]] of spans.entries()) {
    assert.equal(start % 32, 0);
    assert.ok(end <= info.fileSize);
    if (i > 0) assert.ok(start >= spans[i - 1][1], 'tensors overlap');
  }
  const embd = info.tensors.find((t) => t.name === 'token_embd.weight')!;
  assert.deepEqual(embd.dims, [64, 512]);
  assert.equal(embd.bytes, 64 * 512 * 4);
  model.dispose();
});
