// Runs the native KV cache tests (native/tests/kv_cache_test.cpp): prefix-cache registration,
// reuse, LRU eviction, copy-on-write and truncation. Checks that each named check ran and
// passed, so a check that silently disappears fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

const binary = path.join(repoRoot, 'build', 'native', 'tests', 'kv_cache_test');

const expected = [
  'registers_only_full_blocks',
  'reuse_shares_blocks',
  'reuse_leaves_a_token',
  'reuse_needs_an_empty_sequence',
  'free_caches_registered_blocks',
  'lru_eviction_order',
  'truncate_unregisters_a_partly_kept_block',
  'truncate_into_a_shared_block_copies_on_write',
  'fork_then_write_copies',
  'duplicate_content_keeps_the_first_registration',
  'same_block_after_another_prefix_is_another_key',
  'prefix_cache_off',
];

test('native KV cache tests pass', () => {
  assert.ok(existsSync(binary), `${binary} is missing: run \`npm run build:native\` first`);
  const run = spawnSync(binary, [], { encoding: 'utf8', timeout: 60_000 });
  const lines = (run.stdout ?? '').split('\n');
  const failures = lines.filter((l) => l.startsWith('FAIL'));
  const exit = run.status ?? run.signal;
  assert.equal(run.status, 0, `kv_cache_test exited with ${exit}:\n${failures.join('\n')}\n${run.stderr}`);

  const passed = new Set(lines.filter((l) => l.startsWith('ok ')).map((l) => l.split(' ')[1]));
  const missing = expected.filter((name) => !passed.has(name));
  assert.deepEqual(missing, [], `checks that did not pass: ${missing.join(', ')}`);
  assert.match(run.stdout, new RegExp(`^${expected.length} passed, 0 failed$`, 'm'));
});
