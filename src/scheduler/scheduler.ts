// One model's scheduler. In this version requests run one at a time, first in first out (the
// batching scheduler replaces the loop, not this face): routes call generate() or embed(), get
// events back, and abort their signal to stop; the sequence is freed within one engine step.
import type { LoadedModel } from '../engine/loaded-model.js';
import { createContext, type NativeContext } from '../engine/native.js';
import type { EngineStats, Metrics } from '../observability/metrics.js';
import { Channel } from './channel.js';
import { CancelledError, ContextLengthError, QueueFullError, ShuttingDownError } from './errors.js';
import { FifoQueue, type QueuedJob } from './queue.js';
import { runGeneration } from './run-generation.js';
import type { EmbeddingRequest, GenerationEvent, GenerationRequest } from './types.js';

export interface SchedulerOptions {
  modelId: string;
  model: LoadedModel;
  /** Most tokens one sequence may hold (prompt + completion). */
  contextSize: number;
  threads: number;
  maxQueue: number;
  metrics?: Metrics;
}

interface Job extends QueuedJob {
  run(signal: AbortSignal): Promise<void>;
}

/** KV room beyond one full context: a forked choice's partly filled block is copied. */
const KV_SLACK_TOKENS = 64;

export class Scheduler {
  private readonly ctx: NativeContext;
  private readonly queue: FifoQueue<Job>;
  private running: Job | undefined;
  private closing = false;
  private readonly shutdown = new AbortController();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: SchedulerOptions) {
    this.ctx = createContext(options.model.native, {
      threads: options.threads,
      kvTokens: options.contextSize + KV_SLACK_TOKENS,
    });
    this.queue = new FifoQueue(options.maxQueue);
  }

  get contextSize(): number {
    return this.options.contextSize;
  }

  /** Throws ContextLengthError when a prompt and its completion cannot fit one sequence. */
  checkFits(promptTokens: number, maxTokens: number): void {
    if (promptTokens + maxTokens > this.options.contextSize) {
      throw new ContextLengthError(promptTokens, maxTokens, this.options.contextSize, 'max_tokens');
    }
  }

  /**
   * Queues a generation. Throws at once (nothing queued) when it cannot fit the context, the
   * line is full or the server is shutting down; later failures come out of the iterator.
   */
  generate(request: GenerationRequest): AsyncIterable<GenerationEvent> {
    if (request.prompt.length === 0) throw new RangeError('the prompt has no tokens');
    this.checkFits(request.prompt.length, request.maxTokens);
    const out = new Channel<GenerationEvent>();
    const queuedAt = performance.now();
    this.submit(request.signal, out, request.log, (signal) =>
      runGeneration({
        ctx: this.ctx, model: this.options.model, modelId: this.options.modelId, request, signal, out,
        metrics: this.options.metrics, queuedAt,
      }),
    );
    return out;
  }

  /** The final hidden states of each input ([tokens][width] each), in order. */
  embed(request: EmbeddingRequest): Promise<Float32Array[]> {
    for (const input of request.inputs) {
      if (input.length === 0) throw new RangeError('an input has no tokens');
      if (input.length > this.options.contextSize) throw new ContextLengthError(input.length, 0, this.options.contextSize, 'input');
    }
    const out = new Channel<Float32Array>();
    this.submit(request.signal, out, request.log, async (signal) => {
      for (const tokens of request.inputs) {
        if (signal.aborted) throw new CancelledError();
        try {
          const [result] = await this.ctx.step([{ seq: 0, tokens, pos: 0, hidden: true, logits: 'none' }]);
          out.push(result.hidden!);
        } finally {
          this.ctx.free(0);
        }
      }
      out.end();
    });
    return (async () => {
      const vectors: Float32Array[] = [];
      for await (const v of out) vectors.push(v);
      return vectors;
    })();
  }

  stats(): EngineStats {
    const s = this.ctx.stats();
    return {
      model: this.options.modelId,
      kvBlocksTotal: s.kvBlocksTotal,
      kvBlocksFree: s.kvBlocksFree,
      steps: s.steps,
      queueDepth: this.queue.length,
      activeSequences: this.running ? 1 : 0,
    };
  }

  /**
   * Takes no new work, lets queued and running requests finish for up to `timeoutMs`, then
   * cancels what is left. Resolves once the engine is idle.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (!this.idle) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([this.whenIdle(), timedOut]);
      clearTimeout(timer);
    }
    this.shutdown.abort(new CancelledError('the server is shutting down'));
    this.queue.clear(new CancelledError('the server is shutting down'));
    await this.whenIdle();
  }

  dispose(): void {
    this.ctx.dispose();
  }

  private get idle(): boolean {
    return !this.running && this.queue.length === 0;
  }

  private whenIdle(): Promise<void> {
    return this.idle ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private submit<T>(signal: AbortSignal, out: Channel<T>, log: GenerationRequest['log'], run: (signal: AbortSignal) => Promise<void>): void {
    if (this.closing) throw new ShuttingDownError();
    if (this.queue.full) throw new QueueFullError(Math.max(1, Math.ceil(this.queue.length / 4)));
    // The job stops when the client aborts, the server shuts down, or the reader stops reading.
    const readerGone = new AbortController();
    out.onConsumerGone(() => readerGone.abort(new CancelledError('the client stopped reading')));
    const combined = AbortSignal.any([signal, this.shutdown.signal, readerGone.signal]);
    const queuedAt = performance.now();
    this.queue.push({
      signal: combined,
      cancel: (reason) => {
        log?.debug({ reason: String(reason) }, 'cancelled while queued');
        out.fail(reason instanceof Error ? reason : new CancelledError());
      },
      run: async (s) => {
        log?.debug({ waitedMs: Math.round(performance.now() - queuedAt) }, 'started');
        try {
          await run(s);
          log?.debug({ ms: Math.round(performance.now() - queuedAt) }, 'finished');
        } catch (err) {
          log?.debug({ reason: String(err) }, 'ended early');
          out.fail(err);
        }
      },
    });
    log?.debug({ queueDepth: this.queue.length }, 'queued');
    this.pump();
  }

  private pump(): void {
    if (this.running) return;
    const job = this.queue.shift();
    if (!job) {
      for (const wake of this.idleWaiters.splice(0)) wake();
      return;
    }
    this.running = job;
    void job.run(job.signal).finally(() => {
      this.running = undefined;
      this.pump();
    });
  }
}
