// Runs a native test program (build/native/tests/<name>) and checks that it passed and that
// every expected check ran and passed, so a check that silently disappears fails. Returns its
// output lines.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.js';

export function runNativeChecks(name: string, expected: readonly string[], timeoutMs = 60_000): string[] {
  const binary = path.join(repoRoot, 'build', 'native', 'tests', name);
  assert.ok(existsSync(binary), `${binary} is missing: run \`npm run build:native\` first`);
  const run = spawnSync(binary, [], { encoding: 'utf8', timeout: timeoutMs });
  const lines = (run.stdout ?? '').split('\n');
  const failures = lines.filter((l) => l.startsWith('FAIL'));
  assert.equal(run.status, 0, `${name} exited with ${run.status ?? run.signal}:\n${failures.join('\n')}\n${run.stderr}`);

  const passed = new Set(lines.filter((l) => l.startsWith('ok ')).map((l) => l.split(' ')[1]));
  const missing = expected.filter((check) => !passed.has(check));
  assert.deepEqual(missing, [], `checks that did not pass: ${missing.join(', ')}`);
  assert.match(run.stdout, new RegExp(`^${expected.length} passed, 0 failed$`, 'm'));
  return lines;
}
