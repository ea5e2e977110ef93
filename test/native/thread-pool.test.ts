// Runs the native thread-pool tests (native/tests/thread_pool_test.cpp): every task runs once,
// compute threads are pinned one per CPU exactly when there are as many threads as CPUs, and the
// host thread's share of the last CPU (host_thread.h).
import os from 'node:os';
import { test } from 'node:test';
import { runNativeChecks } from '../helpers/native-checks.js';

const expected = [
  'every_task_runs_once',
  'pins_each_thread_when_threads_equal_cpus',
  'pins_nothing_when_threads_differ_from_cpus',
  'host_thread_keeps_to_the_last_cpu_while_working',
  'a_child_forked_while_pinned_gets_the_host_mask',
  'host_thread_stays_unpinned_without_a_pinning_pool',
];

test('native thread-pool tests pass', { skip: os.availableParallelism() < 2 ? 'needs a machine with 2 CPUs' : false }, () => {
  runNativeChecks('thread_pool_test', expected);
});
