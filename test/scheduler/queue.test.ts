import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FifoQueue, type QueuedJob } from '../../src/scheduler/queue.js';

interface TestJob extends QueuedJob {
  id: string;
  controller: AbortController;
  cancelled: unknown[];
}

function job(id: string): TestJob {
  const controller = new AbortController();
  const cancelled: unknown[] = [];
  return { id, controller, cancelled, signal: controller.signal, cancel: (reason) => cancelled.push(reason) };
}

const ids = (q: FifoQueue<TestJob>) => {
  const out: string[] = [];
  for (let j = q.shift(); j; j = q.shift()) out.push(j.id);
  return out;
};

describe('FifoQueue', () => {
  it('hands jobs out first in, first out', () => {
    const q = new FifoQueue<TestJob>(10);
    for (const id of ['a', 'b', 'c']) q.push(job(id));
    assert.equal(q.length, 3);
    assert.equal(q.shift()?.id, 'a');
    q.push(job('d'));
    assert.deepEqual(ids(q), ['b', 'c', 'd']);
    assert.equal(q.length, 0);
    assert.equal(q.shift(), undefined);
  });

  it('is full exactly at capacity', () => {
    const q = new FifoQueue<TestJob>(2);
    assert.equal(q.capacity, 2);
    assert.equal(q.full, false);
    q.push(job('a'));
    assert.equal(q.full, false);
    q.push(job('b'));
    assert.equal(q.full, true);
    q.shift();
    assert.equal(q.full, false);
  });

  it('aborting a waiting job removes it and cancels it with the abort reason', () => {
    const q = new FifoQueue<TestJob>(10);
    const [a, b, c] = [job('a'), job('b'), job('c')];
    q.push(a);
    q.push(b);
    q.push(c);
    const reason = new Error('client went away');
    b.controller.abort(reason);
    assert.equal(q.length, 2);
    assert.deepEqual(b.cancelled, [reason]);
    assert.deepEqual(a.cancelled, []);
    assert.deepEqual(c.cancelled, []);
    assert.equal(q.full, false);
    assert.deepEqual(ids(q), ['a', 'c']);
  });

  it('aborting without a reason passes the signal\'s default AbortError', () => {
    const q = new FifoQueue<TestJob>(10);
    const a = job('a');
    q.push(a);
    a.controller.abort();
    assert.equal(a.cancelled.length, 1);
    assert.ok(a.cancelled[0] instanceof DOMException);
    assert.equal((a.cancelled[0] as DOMException).name, 'AbortError');
    assert.equal(q.length, 0);
  });

  it('aborting a job after it left the line does not cancel it', () => {
    const q = new FifoQueue<TestJob>(10);
    const [a, b] = [job('a'), job('b')];
    q.push(a);
    q.push(b);
    assert.equal(q.shift(), a);
    a.controller.abort(new Error('late'));
    assert.deepEqual(a.cancelled, []);
    // The other job is untouched.
    assert.equal(q.length, 1);
    assert.equal(q.shift(), b);
  });

  it('clear(reason) cancels every waiting job once, with the reason, and empties the line', () => {
    const q = new FifoQueue<TestJob>(10);
    const jobs = [job('a'), job('b'), job('c')];
    for (const j of jobs) q.push(j);
    const running = q.shift()!;
    const reason = new Error('shutting down');
    q.clear(reason);
    assert.equal(q.length, 0);
    assert.equal(q.shift(), undefined);
    assert.deepEqual(running.cancelled, []);
    assert.deepEqual(jobs[1].cancelled, [reason]);
    assert.deepEqual(jobs[2].cancelled, [reason]);
    // Aborting a cleared job later does not cancel it a second time.
    jobs[1].controller.abort(new Error('again'));
    assert.deepEqual(jobs[1].cancelled, [reason]);
  });
});
