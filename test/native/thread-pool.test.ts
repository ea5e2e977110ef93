// Runs the native thread-pool tests (native/tests/thread_pool_test.cpp): every task runs once,
// and compute threads are pinned one per CPU exactly when there are as many threads as CPUs.
import os from 'node:os';
import { test } from 'node:test';
import { runNativeChecks } from '../helpers/native-checks.js';

const expected = ['every_task_runs_once', 'pins_each_thread_when_threads_equal_cpus', 'pins_nothing_when_threads_differ_from_cpus'];

test('native thread-pool tests pass', { skip: os.availableParallelism() < 2 ? 'needs a machine with 2 CPUs' : false }, () => {
  runNativeChecks('thread_pool_test', expected);
});
