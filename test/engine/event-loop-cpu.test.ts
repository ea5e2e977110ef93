// With one compute thread per CPU, the JS thread keeps to the pool's last CPU while it serves
// steps (backends/cpu/host_thread.h), and nothing it starts meanwhile inherits that: a spawned
// process gets the thread's own CPU mask, and the thread gets it back once steps stop.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createContext, loadModel } from '../../src/engine/native.js';
import { stories260K } from '../helpers/paths.js';

const cpusAllowed = (status: string) => /Cpus_allowed_list:\s*(\S+)/.exec(status)![1];
const ownMask = () => cpusAllowed(readFileSync('/proc/thread-self/status', 'utf8'));
const childMask = () => cpusAllowed(execFileSync('cat', ['/proc/self/status'], { encoding: 'utf8' }));

test('the JS thread keeps to one CPU while steps run; a spawned process and the idle thread get the whole mask', {
  skip: os.availableParallelism() < 2 ? 'needs a machine with 2 CPUs' : false,
}, async () => {
  const model = await loadModel(stories260K());
  const ctx = createContext(model, { threads: os.availableParallelism(), kvTokens: 256 });
  const before = ownMask();
  const running = ctx.step([{ seq: 0, tokens: [1, 403, 407], pos: 0, sample: true }]);
  const during = ownMask();
  assert.match(during, /^\d+$/, `the JS thread kept its mask ${before} while a step ran`);
  assert.equal(childMask(), before, 'a process spawned while the step ran inherited the pin');
  await running;
  await sleep(300); // no step for longer than the release delay (100 ms)
  assert.equal(ownMask(), before);
  ctx.dispose();
  model.dispose();
});
