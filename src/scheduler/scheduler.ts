// One model's scheduler: continuous batching over one native context. Routes call generate()
// or embed(), get events (or vectors) back, and abort their signal to stop. Every live sequence
// shares each engine step (batch.ts plans it, loop.ts runs it); waiting sequences are taken by
// priority and by fair share between owners; the KV cache is paged with automatic prefix
// caching, and a sequence that ends for any reason frees its blocks within one step.
import type { LoadedModel } from '../engine/loaded-model.js';
import { createContext, type NativeContext } from '../engine/native.js';
import type { EngineStats, Metrics } from '../observability/metrics.js';
import { StepPlanner, type StepPlan } from './batch.js';
import { Channel } from './channel.js';
import { EmbeddingJob } from './embedding-job.js';
import { CancelledError, ContextLengthError, QueueFullError, RequestTimeoutError, ShuttingDownError } from './errors.js';
import { OwnerClocks } from './fairness.js';
import { GenerationJob } from './generation-job.js';
import type { Job, JobOptions } from './job.js';
import { EngineLoop } from './loop.js';
import type { EmbeddingRequest, GenerationEvent, GenerationRequest, RequestLog } from './types.js';
import { WaitingLine } from './waiting-line.js';

export interface SchedulerOptions {
  modelId: string;
  model: LoadedModel;
  /** Most tokens one sequence may hold (prompt + completion). */
  contextSize: number;
  threads: number;
  /** Requests waiting to start beyond this are refused (429). */
  maxQueue: number;
  /** KV cache capacity in tokens, shared by all sequences (at least one full context). */
  kvTokens: number;
  /** Most tokens fed to the engine per step (chunked prefill). */
  stepTokens: number;
  /** Most sequences decoding at once. */
  maxSequences: number;
  prefixCache?: boolean;
  kvBlockSize?: number;
  metrics?: Metrics;
  log?: RequestLog;
}

/** KV room beyond one full context: a forked choice's partly filled block is copied. */
const KV_SLACK_TOKENS = 64;
const DEFAULT_OWNER = 'default';

export class Scheduler {
  private readonly ctx: NativeContext;
  private readonly clocks = new OwnerClocks();
  private readonly waiting = new WaitingLine(this.clocks);
  private readonly planner: StepPlanner;
  private readonly loop: EngineLoop;
  /** Every job not yet ended, and the ones whose first sequence has not started (the queue). */
  private readonly jobs = new Map<Job, () => void>();
  private readonly queued = new Set<Job>();
  private arrivals = 0;
  private nextSeq = 0;
  private closing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: SchedulerOptions) {
    const blockSize = options.kvBlockSize ?? 16;
    const stepTokens = Math.max(options.stepTokens, options.maxSequences);
    this.ctx = createContext(options.model.native, {
      threads: options.threads,
      kvTokens: Math.max(options.kvTokens, options.contextSize + KV_SLACK_TOKENS),
      kvBlockSize: blockSize,
      maxBatchTokens: stepTokens,
      prefixCache: options.prefixCache ?? true,
    });
    this.planner = new StepPlanner(
      this.ctx,
      this.waiting,
      { tokenBudget: stepTokens, maxSequences: options.maxSequences, blockSize, prefixCache: options.prefixCache ?? true },
      {
        admitted: (seq, cached) => {
          seq.job.admitted(seq, cached);
          this.queued.delete(seq.job);
          this.clocks.charge(seq.job.owner, seq.tokens.length - cached);
          if (seq.job.reusesPrefix) {
            options.metrics?.prefixQueryTokens.inc(this.labels, seq.tokens.length);
            options.metrics?.prefixHitTokens.inc(this.labels, cached);
          }
        },
        preempted: (seq) => {
          seq.job.options.log?.debug({ seq: seq.id }, 'preempted: KV cache full');
          options.metrics?.preemptions.inc(this.labels);
        },
      },
    );
    // Counters show from the start (at 0), not only after their first event.
    for (const counter of [options.metrics?.preemptions, options.metrics?.prefixQueryTokens, options.metrics?.prefixHitTokens]) {
      counter?.inc(this.labels, 0);
    }
    this.loop = new EngineLoop(this.ctx, this.planner, {
      stepped: (plan, seconds) => this.observeStep(plan, seconds),
      broken: (err) => {
        for (const job of [...this.jobs.keys()]) job.fail(err);
      },
      idle: () => this.wakeIdleWaiters(),
    }, options.log);
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
    this.checkAccepting();
    const out = new Channel<GenerationEvent>();
    const job = new GenerationJob(request, this.jobOptions(request), out, {
      model: this.options.model,
      modelId: this.options.modelId,
      metrics: this.options.metrics,
      nextSequenceId: () => this.sequenceId(),
      charge: (owner, tokens) => this.clocks.charge(owner, tokens),
    });
    out.onConsumerGone(() => job.fail(new CancelledError('the client stopped reading')));
    this.submit(job, request.signal, request.timeoutMs);
    return out;
  }

  /** The final hidden states of each input ([tokens][width] each), in order. */
  embed(request: EmbeddingRequest): Promise<Float32Array[]> {
    for (const input of request.inputs) {
      if (input.length === 0) throw new RangeError('an input has no tokens');
      if (input.length > this.options.contextSize) throw new ContextLengthError(input.length, 0, this.options.contextSize, 'input');
    }
    this.checkAccepting();
    return new Promise((resolve, reject) => {
      const width = this.options.model.hparams.nEmbd;
      const job = new EmbeddingJob(request.inputs, this.jobOptions(request), width, () => this.sequenceId(), resolve, reject);
      this.submit(job, request.signal, request.timeoutMs);
    });
  }

  stats(): EngineStats {
    const s = this.ctx.stats();
    return {
      model: this.options.modelId,
      kvBlocksTotal: s.kvBlocksTotal,
      kvBlocksFree: s.kvBlocksFree,
      kvBlocksCached: s.kvBlocksCached,
      steps: s.steps,
      queueDepth: this.queued.size,
      runningSequences: this.planner.running.length,
      waitingSequences: this.waiting.length,
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
    for (const job of [...this.jobs.keys()]) job.fail(new CancelledError('the server is shutting down'));
    await this.whenIdle();
  }

  dispose(): void {
    this.ctx.dispose();
  }

  private get labels() {
    return { model: this.options.modelId };
  }

  private checkAccepting(): void {
    if (this.closing) throw new ShuttingDownError();
    if (this.queued.size >= this.options.maxQueue) throw new QueueFullError(Math.max(1, Math.ceil(this.queued.size / 4)));
  }

  private jobOptions(request: { priority?: number; owner?: string; log?: RequestLog }): JobOptions {
    return {
      priority: request.priority ?? 0,
      owner: request.owner ?? DEFAULT_OWNER,
      arrival: this.arrivals++,
      queuedAt: performance.now(),
      log: request.log,
    };
  }

  private sequenceId(): number {
    const id = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) % 0x7fffffff;
    return id;
  }

  /** Puts a job's first sequences in the waiting line; it ends when its signal aborts or its timeout passes. */
  private submit(job: Job, signal: AbortSignal, timeoutMs: number | undefined): void {
    const { log } = job.options;
    const abort = () => job.fail(signal.reason instanceof Error ? signal.reason : new CancelledError());
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => job.fail(new RequestTimeoutError(timeoutMs)), timeoutMs);
    signal.addEventListener('abort', abort, { once: true });
    this.jobs.set(job, () => {
      signal.removeEventListener('abort', abort);
      clearTimeout(timer);
    });
    job.onEnded = (j) => this.ended(j);
    this.queued.add(job);
    this.clocks.join(job.owner);
    for (const seq of job.initialSequences()) this.waiting.add(seq);
    log?.debug({ queueDepth: this.queued.size }, 'queued');
    if (signal.aborted) abort();
    else this.loop.wake();
  }

  /** A job finished, failed or was cancelled: its sequences leave the line or are freed at the next step boundary. */
  private ended(job: Job): void {
    this.jobs.get(job)?.();
    this.jobs.delete(job);
    this.queued.delete(job);
    this.clocks.leave(job.owner);
    for (const seq of job.sequences) {
      if (seq.state === 'waiting') {
        this.waiting.remove(seq);
        this.planner.release(seq);
      }
      seq.state = 'done';
    }
    const elapsed = Math.round(performance.now() - job.options.queuedAt);
    job.options.log?.debug({ ms: elapsed }, 'ended');
    this.loop.wake();
  }

  private observeStep(plan: StepPlan, seconds: number): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    metrics.stepSeconds.observe(this.labels, seconds);
    metrics.stepTokens.observe(this.labels, plan.chunks.reduce((a, b) => a + b, 0));
    metrics.stepSequences.observe(this.labels, plan.seqs.length);
  }

  private get idle(): boolean {
    return !this.loop.busy && this.waiting.length === 0 && this.planner.running.every((s) => s.state === 'done');
  }

  private whenIdle(): Promise<void> {
    return this.idle ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdleWaiters(): void {
    if (!this.idle) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
