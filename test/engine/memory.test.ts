// Weights are memory-mapped: loading adds little to the resident set. Those the CPU kernels
// read in a layout of their own are copied into it when a context is made and their mapped
// pages released, so after a forward pass the process holds about one file's worth, not two.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { generatedModel } from '../helpers/test-models.js';

const MiB = 1024 * 1024;

test('RSS after loading smollm2-135m q8_0 stays under file size + 64 MB', async () => {
  const file = await generatedModel('smollm2-135m', 'q8_0');
  const size = statSync(file).size;
  const script = `
    import { loadModel, createContext } from ${JSON.stringify(path.join(repoRoot, 'src/engine/native.ts'))};
    const rss = () => process.memoryUsage().rss;
    globalThis.gc?.();
    const before = rss();
    const model = await loadModel(${JSON.stringify(file)});
    const afterLoad = rss();
    const ctx = createContext(model, { threads: 1, kvTokens: 16 });
    await ctx.step([{ seq: 0, tokens: [1, 2, 3], pos: 0, sample: true }]);
    console.log(JSON.stringify({ before, afterLoad, afterStep: rss() }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: repoRoot });
  const { before, afterLoad, afterStep } = JSON.parse(out.trim().split('\n').at(-1)!);
  assert.ok(afterLoad - before < 64 * MiB, `loading took ${(afterLoad - before) / MiB} MiB resident`);
  assert.ok(afterStep - before < size + 64 * MiB, `after a step: ${(afterStep - before) / MiB} MiB for a ${size / MiB} MiB file`);
});
