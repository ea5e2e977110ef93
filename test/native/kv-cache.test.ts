// Runs the native KV cache tests (native/tests/kv_cache_test.cpp): prefix-cache registration,
// reuse, LRU eviction, copy-on-write and truncation. Checks that each named check ran and
// passed, so a check that silently disappears fails here.
import { test } from 'node:test';
import { runNativeChecks } from '../helpers/native-checks.js';

const expected = [
  'registers_only_full_blocks',
  'reuse_shares_blocks',
  'reuse_leaves_a_token',
  'reuse_copies_a_partly_matching_block',
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
  runNativeChecks('kv_cache_test', expected);
});
