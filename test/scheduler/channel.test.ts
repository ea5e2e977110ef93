import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Channel } from '../../src/scheduler/channel.js';

/** Reads the whole channel; resolves with the values, or rejects with what the channel failed with. */
async function drain<T>(ch: Channel<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of ch) out.push(v);
  return out;
}

/** Settles within a few turns of the event loop, or reports that it is still pending. */
async function settled<T>(p: Promise<T>): Promise<{ state: 'pending' } | { state: 'fulfilled'; value: T } | { state: 'rejected'; reason: unknown }> {
  let result: { state: 'pending' } | { state: 'fulfilled'; value: T } | { state: 'rejected'; reason: unknown } = { state: 'pending' };
  p.then(
    (value) => (result = { state: 'fulfilled', value }),
    (reason: unknown) => (result = { state: 'rejected', reason }),
  );
  await tick();
  await tick();
  return result;
}

describe('Channel', () => {
  it('delivers values pushed before and after the consumer starts, in order', async () => {
    const ch = new Channel<number>();
    ch.push(1);
    ch.push(2);
    const reading = drain(ch);
    await tick();
    ch.push(3);
    await tick();
    ch.push(4);
    ch.push(5);
    ch.end();
    assert.deepEqual(await reading, [1, 2, 3, 4, 5]);
  });

  it('a pending next() waits until a value is pushed', async () => {
    const ch = new Channel<string>();
    const it = ch[Symbol.asyncIterator]();
    const first = it.next();
    assert.deepEqual(await settled(first), { state: 'pending' });
    ch.push('x');
    assert.deepEqual(await first, { value: 'x', done: false });
  });

  it('end() finishes a pending read and every later read', async () => {
    const ch = new Channel<number>();
    const it = ch[Symbol.asyncIterator]();
    const pending = it.next();
    ch.end();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.deepEqual(await it.next(), { value: undefined, done: true });
  });

  it('values buffered before end() are still read', async () => {
    const ch = new Channel<number>();
    ch.push(1);
    ch.push(2);
    ch.end();
    assert.deepEqual(await drain(ch), [1, 2]);
  });

  it('push after end() is ignored', async () => {
    const ch = new Channel<number>();
    ch.push(1);
    ch.end();
    ch.push(2);
    assert.deepEqual(await drain(ch), [1]);
  });

  it('fail() rejects a pending read with the error', async () => {
    const ch = new Channel<number>();
    const it = ch[Symbol.asyncIterator]();
    const pending = it.next();
    const boom = new Error('boom');
    ch.fail(boom);
    assert.deepEqual(await settled(pending), { state: 'rejected', reason: boom });
    // And keeps failing afterwards.
    await assert.rejects(it.next(), (err) => err === boom);
  });

  it('fail() lets buffered values be read first, then rejects with the error', async () => {
    const ch = new Channel<number>();
    const boom = new Error('boom');
    ch.push(1);
    ch.push(2);
    ch.fail(boom);
    ch.push(3); // ignored: the channel is finished
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const v of ch) seen.push(v);
      })(),
      (err) => err === boom,
    );
    assert.deepEqual(seen, [1, 2]);
  });

  it('fail() after end() and end() after fail() change nothing', async () => {
    const ended = new Channel<number>();
    ended.push(1);
    ended.end();
    ended.fail(new Error('late'));
    assert.deepEqual(await drain(ended), [1]);

    const failed = new Channel<number>();
    const boom = new Error('boom');
    failed.fail(boom);
    failed.end();
    await assert.rejects(drain(failed), (err) => err === boom);
  });

  it('breaking out of for-await calls onConsumerGone exactly once', async () => {
    const ch = new Channel<number>();
    let gone = 0;
    ch.onConsumerGone(() => gone++);
    ch.push(1);
    ch.push(2);
    ch.push(3);
    for await (const v of ch) {
      if (v === 2) break;
    }
    assert.equal(gone, 1);
    // The producer's later pushes go nowhere, and a second return() does not call it again.
    ch.push(4);
    const it = ch[Symbol.asyncIterator]();
    assert.deepEqual(await it.return!(), { value: undefined, done: true });
    assert.equal(gone, 1);
    assert.deepEqual(await it.next(), { value: undefined, done: true });
  });

  it('throwing inside for-await also calls onConsumerGone once', async () => {
    const ch = new Channel<number>();
    let gone = 0;
    ch.onConsumerGone(() => gone++);
    ch.push(1);
    await assert.rejects(
      (async () => {
        for await (const _ of ch) throw new Error('consumer failed');
      })(),
      /consumer failed/,
    );
    assert.equal(gone, 1);
  });

  it('reading to the end does not call onConsumerGone', async () => {
    const ch = new Channel<number>();
    let gone = 0;
    ch.onConsumerGone(() => gone++);
    ch.push(1);
    ch.end();
    assert.deepEqual(await drain(ch), [1]);
    assert.equal(gone, 0);
  });

  it('buffered values are dropped when the consumer leaves', async () => {
    const ch = new Channel<number>();
    ch.push(1);
    ch.push(2);
    ch.push(3);
    const it = ch[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: 1, done: false });
    await it.return!();
    assert.deepEqual(await it.next(), { value: undefined, done: true });
  });
});
