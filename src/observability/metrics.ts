// Every Prometheus metric the server exports, on a registry of its own (so several servers in one
// process, as in tests, do not collide).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface EngineStats {
  model: string;
  kvBlocksTotal: number;
  kvBlocksFree: number;
  steps: number;
  queueDepth: number;
  activeSequences: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'omni_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly promptTokens = new Counter({
    name: 'omni_prompt_tokens_total',
    help: 'Prompt tokens processed',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly generatedTokens = new Counter({
    name: 'omni_generated_tokens_total',
    help: 'Tokens generated',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly timeToFirstToken = new Histogram({
    name: 'omni_time_to_first_token_seconds',
    help: 'From the request entering the queue to its first generated token',
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly interTokenLatency = new Histogram({
    name: 'omni_inter_token_latency_seconds',
    help: 'Time between consecutive generated tokens of one sequence',
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** Where the per-model engine gauges are read from at scrape time. */
  engineStats: () => EngineStats[] = () => [];

  constructor() {
    const read = () => this.engineStats();
    collectDefaultMetrics({ register: this.registry, prefix: 'omni_' });
    const gauge = (name: string, help: string, pick: (s: EngineStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['model'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const s of read()) this.set({ model: s.model }, pick(s));
        },
      });
    gauge('omni_queue_depth', 'Requests waiting for the engine', (s) => s.queueDepth);
    gauge('omni_active_sequences', 'Sequences being generated', (s) => s.activeSequences);
    gauge('omni_kv_blocks_used', 'KV cache blocks in use', (s) => s.kvBlocksTotal - s.kvBlocksFree);
    gauge('omni_kv_blocks_total', 'KV cache blocks in the pool', (s) => s.kvBlocksTotal);
    gauge('omni_engine_steps', 'Engine steps run since start', (s) => s.steps);
  }
}
