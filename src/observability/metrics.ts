// Every Prometheus metric the server exports, on a registry of its own (so several servers in one
// process, as in tests, do not collide).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ModelHistogram } from './model-histogram.js';

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
  readonly promptTokens = this.modelCounter('omni_prompt_tokens_total', 'Prompt tokens processed');
  readonly generatedTokens = this.modelCounter('omni_generated_tokens_total', 'Tokens generated');
  readonly timeToFirstToken = this.modelHistogram('omni_time_to_first_token_seconds', 'From the request entering the queue to its first generated token', LATENCY_BUCKETS);
  readonly interTokenLatency = this.modelHistogram('omni_inter_token_latency_seconds', 'Time between consecutive generated tokens of one sequence', LATENCY_BUCKETS);

  readonly prefixQueryTokens = this.modelCounter('omni_prefix_cache_queries_total', 'Prompt tokens looked up in the prefix cache');
  readonly prefixHitTokens = this.modelCounter('omni_prefix_cache_hits_total', 'Prompt tokens found in the prefix cache (not recomputed)');
  readonly preemptions = this.modelCounter('omni_preemptions_total', 'Sequences preempted because the KV cache was full (recomputed later)');
  readonly stepSeconds = this.modelHistogram('omni_step_seconds', 'Time the engine took for one step', LATENCY_BUCKETS);
  readonly stepTokens = this.modelHistogram('omni_step_tokens', 'Tokens fed to the engine per step (batch size in tokens)', BATCH_BUCKETS);
  readonly stepSequences = this.modelHistogram('omni_step_sequences', 'Sequences in one step (batch size in sequences)', BATCH_BUCKETS);

  private modelCounter(name: string, help: string): Counter<'model'> {
    return new Counter({ name, help, labelNames: ['model'] as const, registers: [this.registry] });
  }

  private modelHistogram(name: string, help: string, buckets: number[]): ModelHistogram {
    return new ModelHistogram(name, help, buckets, this.registry);
  }

  /** Where the per-model engine gauges are read from at scrape time. */
  engineStats: () => EngineStats[] = () => [];

  constructor() {
    const read = () => this.engineStats();
    // The event-loop lag monitor samples on a timer; at its default 10 ms it woke the event loop
    // ~100 times a second, each time taking a core from a compute thread in the middle of a step.
    collectDefaultMetrics({ register: this.registry, prefix: 'omni_', eventLoopMonitoringPrecision: 100 });
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
