// Every Prometheus metric the server exports, on a registry of its own (so several servers in one
// process, as in tests, do not collide).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export interface EngineStats {
  model: string;
  kvBlocksTotal: number;
  /** Free for new work, counting cached prefix blocks no sequence uses (they are evicted on demand). */
  kvBlocksFree: number;
  kvBlocksCached: number;
  steps: number;
  /** Requests not started yet. */
  queueDepth: number;
  runningSequences: number;
  waitingSequences: number;
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

  readonly prefixQueryTokens = new Counter({
    name: 'omni_prefix_cache_queries_total',
    help: 'Prompt tokens looked up in the prefix cache',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly prefixHitTokens = new Counter({
    name: 'omni_prefix_cache_hits_total',
    help: 'Prompt tokens found in the prefix cache (not recomputed)',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly preemptions = new Counter({
    name: 'omni_preemptions_total',
    help: 'Sequences preempted because the KV cache was full (recomputed later)',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly stepSeconds = new Histogram({
    name: 'omni_step_seconds',
    help: 'Time the engine took for one step',
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly stepTokens = new Histogram({
    name: 'omni_step_tokens',
    help: 'Tokens fed to the engine per step (batch size in tokens)',
    labelNames: ['model'] as const,
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  readonly stepSequences = new Histogram({
    name: 'omni_step_sequences',
    help: 'Sequences in one step (batch size in sequences)',
    labelNames: ['model'] as const,
    buckets: BATCH_BUCKETS,
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
    gauge('omni_queue_depth', 'Requests not started yet', (s) => s.queueDepth);
    gauge('omni_running_sequences', 'Sequences in the running batch', (s) => s.runningSequences);
    gauge('omni_waiting_sequences', 'Sequences waiting to start (or to be recomputed after preemption)', (s) => s.waitingSequences);
    gauge('omni_kv_blocks_used', 'KV cache blocks used by sequences', (s) => s.kvBlocksTotal - s.kvBlocksFree);
    gauge('omni_kv_blocks_free', 'KV cache blocks free for new work (including cached prefixes no sequence uses)', (s) => s.kvBlocksFree);
    gauge('omni_kv_blocks_cached', 'KV cache blocks holding cached prefixes no sequence uses', (s) => s.kvBlocksCached);
    gauge('omni_kv_blocks_total', 'KV cache blocks in the pool', (s) => s.kvBlocksTotal);
    gauge('omni_engine_steps', 'Engine steps run since start', (s) => s.steps);
  }
}
