// Runs the native kernel tests (native/tests/kernels_test.cpp) and checks that every group
// we expect actually ran, so a type or ISA level that is silently skipped fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

const binary = path.join(repoRoot, 'build', 'native', 'tests', 'kernels_test');

const types = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q4_K', 'q5_K', 'q6_K'];

/** The ISA levels this CPU should run, from /proc/cpuinfo (null where there is none). */
function cpuLevels(): string[] | null {
  if (!existsSync('/proc/cpuinfo')) return null;
  const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
  if (!line) return null;
  const flags = new Set(line.split(':')[1].trim().split(/\s+/));
  const has = (...fs: string[]) => fs.every((f) => flags.has(f));
  const levels = ['scalar'];
  if (has('avx2', 'fma', 'f16c')) levels.push('avx2');
  if (levels.includes('avx2') && has('avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_vnni')) levels.push('avx512');
  return levels;
}

test('native kernel tests pass for every type and ISA level', () => {
  assert.ok(existsSync(binary), `${binary} is missing: run \`npm run build:native\` first`);
  const run = spawnSync(binary, [], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, OMNI_ISA: '' } });
  const out = run.stdout ?? '';
  const failures = out.split('\n').filter((l) => l.startsWith('FAIL'));
  assert.equal(run.status, 0, `kernels_test exited with ${run.status ?? run.signal}:\n${failures.join('\n')}\n${run.stderr}`);

  const levelsLine = out.split('\n').find((l) => l.startsWith('levels:'));
  assert.ok(levelsLine, 'kernels_test printed no levels line');
  const levels = levelsLine.slice('levels:'.length).replace(/\(.*\)/, '').trim().split(/\s+/);
  const expectedLevels = cpuLevels();
  if (expectedLevels) assert.deepEqual(levels, expectedLevels, 'ISA levels detected differ from /proc/cpuinfo');

  const ok = new Set(out.split('\n').filter((l) => l.startsWith('ok ')).map((l) => l.slice(3)));
  const expected = ['traits', 'fp16 exhaustive', 'fp16 rounding', 'bf16 exhaustive', 'bf16 rounding', 'select_kernels'];
  for (const t of types) expected.push(`golden ${t}`, `roundtrip ${t}`);
  for (const isa of levels) {
    for (const t of types) expected.push(`dequantize ${t} ${isa}`, `tile ${t} ${isa}`, `tile batch-invariant ${t} ${isa}`);
    for (const f of ['f32', 'q8_32', 'q8_256']) expected.push(`quantize_act ${f} ${isa}`);
    expected.push(`helpers ${isa}`, `decode attention ${isa}`);
  }
  const missing = expected.filter((g) => !ok.has(g));
  assert.deepEqual(missing, [], `check groups that did not pass: ${missing.join(', ')}`);
  assert.match(out, new RegExp(`^${expected.length} passed, 0 failed$`, 'm'));
});
