// The backend loader: the CPU backend is always there; others are shared libraries found at
// run time, and one that is missing or of the wrong ABI is reported, not crashed on.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { backends, createContext, loadModel } from '../../src/engine/native.js';
import { repoRoot, stories260K } from '../helpers/paths.js';

const testLibraries = path.join(repoRoot, 'build', 'native', 'tests');

test('the CPU backend is always available and says which kernels it runs', () => {
  const cpu = backends().find((b) => b.name === 'cpu');
  assert.ok(cpu?.available);
  assert.match(cpu!.detail, /^cpu (scalar|avx2|avx512), 1 threads$/);
});

test('a library of the wrong ABI version is found and reported as unusable', () => {
  const fake = backends(testLibraries).find((b) => b.name === 'fake');
  assert.ok(fake, 'libomni_fake.so should be found on the search path');
  assert.equal(fake.available, false);
  assert.match(fake.detail, /not an Omni backend of ABI version \d+/);
});

test('asking for a backend that is not installed is a clear error naming what was tried', async () => {
  const model = await loadModel(stories260K());
  assert.throws(() => createContext(model, { backend: 'cuda' }), (err: Error) => {
    assert.match(err.message, /backend 'cuda' was not found/);
    assert.match(err.message, /libomni_cuda\.so/);
    assert.match(err.message, /CPU backend is always available/);
    return true;
  });
  model.dispose();
});
