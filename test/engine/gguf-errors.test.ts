// Malformed GGUF files get a clear error naming the file and the problem, never a crash.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createContext, loadModel } from '../../src/engine/native.js';
import { stories260K, tempDir, sharedModelsDir } from '../helpers/paths.js';

const original = readFileSync(stories260K());
const dir = tempDir();
let counter = 0;

function writeVariant(bytes: Uint8Array): string {
  const file = path.join(dir, `variant-${counter++}.gguf`);
  writeFileSync(file, bytes);
  return file;
}

async function expectLoadError(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  const file = writeVariant(bytes);
  await assert.rejects(loadModel(file), (err: Error) => {
    assert.ok(err.message.includes(file), `message should name the file: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

/** Byte offset of the type field of the tensor named `name` in the tensor index. */
function tensorTypeOffset(bytes: Buffer, name: string): number {
  const needle = Buffer.concat([Buffer.from(new BigUint64Array([BigInt(name.length)]).buffer), Buffer.from(name)]);
  const at = bytes.indexOf(needle);
  assert.ok(at > 0, `tensor ${name} not found`);
  const nDimsAt = at + needle.length;
  const nDims = bytes.readUInt32LE(nDimsAt);
  return nDimsAt + 4 + nDims * 8;
}

test('a missing file is reported with its path', async () => {
  await assert.rejects(loadModel(path.join(dir, 'nope.gguf')), /nope\.gguf: cannot open/);
});

test('an empty file, bad magic and an old version are named as such', async () => {
  await expectLoadError(new Uint8Array(0), /empty/);
  const badMagic = Buffer.from(original);
  badMagic.write('GGML', 0);
  await expectLoadError(badMagic, /not a GGUF file/);
  const v1 = Buffer.from(original);
  v1.writeUInt32LE(1, 4);
  await expectLoadError(v1, /version 1/);
  const v9 = Buffer.from(original);
  v9.writeUInt32LE(9, 4);
  await expectLoadError(v9, /unsupported GGUF version 9/);
});

test('truncation anywhere gives "truncated" or "outside the file", never a crash', async () => {
  const cuts = [5, 9, 20, 24, 100, 1000, 5000, 20000, original.length / 2, original.length - 1].map(Math.floor);
  for (const cut of cuts) await expectLoadError(original.subarray(0, cut), /truncated|outside the file/);
});

test('an unknown tensor type and an unsupported one are named', async () => {
  const unknown = Buffer.from(original);
  unknown.writeUInt32LE(77, tensorTypeOffset(unknown, 'output.weight'));
  await expectLoadError(unknown, /tensor 'output.weight' has unknown type id 77/);
  const q2k = Buffer.from(original);
  q2k.writeUInt32LE(10, tensorTypeOffset(q2k, 'output.weight'));
  await expectLoadError(q2k, /type q2_K, which Omni does not support/);
});

test('a tensor whose data lies past the end of the file is caught', async () => {
  const bytes = Buffer.from(original);
  const typeAt = tensorTypeOffset(bytes, 'output.weight');
  bytes.writeBigUInt64LE(BigInt(original.length) * 4n, typeAt + 4); // its offset
  await expectLoadError(bytes, /output\.weight.*(outside the file|not aligned)/);
});

test('an architecture Omni does not run is refused, but its vocabulary still loads', async () => {
  const file = path.join(sharedModelsDir(), 'vocab', 'ggml-vocab-baichuan.gguf');
  await assert.rejects(loadModel(file), /unsupported architecture 'baichuan'/);
  const vocab = await loadModel(file, { vocabOnly: true });
  assert.equal((vocab.info().metadata['tokenizer.ggml.tokens'] as string[]).length, 64000);
  assert.throws(() => createContext(vocab), /vocab-only/);
});

test('random corruption of the header: every outcome is a clean load or a clear error', async () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  // The header (metadata + tensor index) of stories260K is its first ~7 KB of vocabulary
  // strings and tensor infos; corrupt bytes there, including the length fields.
  const headerEnd = 12000;
  let errors = 0;
  for (let i = 0; i < 300; i++) {
    const bytes = Buffer.from(original);
    for (let k = 0; k < 1 + rand(4); k++) bytes[rand(headerEnd)] = rand(256);
    const file = writeVariant(bytes);
    try {
      const m = await loadModel(file);
      m.info();
      m.dispose();
    } catch (err) {
      errors++;
      assert.ok((err as Error).message.startsWith(file + ':'), (err as Error).message);
    }
  }
  assert.ok(errors > 10, `expected many corruptions to be detected, got ${errors}`);
});
