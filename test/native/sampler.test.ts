// Runs the native sampler tests (native/tests/sampler_test.cpp): every sampling setting must
// shape the distribution of drawn tokens as the reference says. Checks that each named check
// ran and passed, so a check that silently disappears fails here.
import { test } from 'node:test';
import { runNativeChecks } from '../helpers/native-checks.js';

const expected = [
  'greedy_argmax',
  'greedy_ties_lowest_id',
  'temperature_1_softmax',
  'temperature_sharpens',
  'temperature_flattens',
  'top_k',
  'top_k_over_vocab',
  'top_p_nucleus',
  'min_p',
  'chain_order',
  'repetition_penalty',
  'presence_penalty',
  'frequency_penalty',
  'penalty_window',
  'history_truncate',
  'set_params_seed_restarts_rng',
  'logit_bias_ban',
  'logit_bias_force',
  'logit_bias_out_of_range',
  'seeded_reproducible',
  'seeds_differ',
  'golden_sequence',
  'golden_sequence_big',
  'logprobs_log_softmax',
  'logprobs_greedy_and_off',
  'logprobs_big_vocab',
  'edge_empty_and_single',
  'edge_one_finite',
  'edge_nan_logits',
  'edge_infinite_logits_and_params',
  'big_top_k',
  'big_top_p',
  'big_no_truncation_and_min_p',
  'big_top_p_boundary',
  'big_large_top_k',
  'big_ties',
  'timing_151936',
];

test('native sampler tests pass', () => {
  const lines = runNativeChecks('sampler_test', expected, 300_000);
  for (const line of lines.filter((l) => l.startsWith('time '))) console.log(line);
});
