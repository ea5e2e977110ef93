import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { ModelHistogram } from '../../src/observability/model-histogram.js';

test('a model histogram renders cumulative buckets, +Inf, sum and count per model', async () => {
  const registry = new Registry();
  const h = new ModelHistogram('t_seconds', 'test', [0.01, 0.1, 1], registry);
  for (const v of [0.005, 0.01, 0.05, 2]) h.observe({ model: 'a' }, v);
  h.observe({ model: 'b' }, 0.5);
  const text = await registry.metrics();
  assert.match(text, /# TYPE t_seconds histogram/);
  const line = (s: string) => text.split('\n').find((l) => l.startsWith(s + ' '))?.split(' ')[1];
  // An observation equal to a bound counts in that bound's bucket, as Prometheus's `le` says.
  assert.equal(line('t_seconds_bucket{le="0.01",model="a"}'), '2');
  assert.equal(line('t_seconds_bucket{le="0.1",model="a"}'), '3');
  assert.equal(line('t_seconds_bucket{le="1",model="a"}'), '3');
  assert.equal(line('t_seconds_bucket{le="+Inf",model="a"}'), '4');
  assert.equal(Number(line('t_seconds_sum{model="a"}')), 0.005 + 0.01 + 0.05 + 2);
  assert.equal(line('t_seconds_count{model="a"}'), '4');
  assert.equal(line('t_seconds_bucket{le="0.1",model="b"}'), '0');
  assert.equal(line('t_seconds_bucket{le="1",model="b"}'), '1');
  registry.resetMetrics();
  assert.doesNotMatch(await registry.metrics(), /t_seconds_count/);
});
