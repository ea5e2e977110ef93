// The engine loop: plan → step → take results, with one step in flight. As soon as a step's
// results are in, the cheap bookkeeping runs (new tokens, end conditions), the next step is
// planned and started, and only then does the heavy JavaScript (detokenizing, stop strings,
// events to the clients) run, while the engine computes.
import type { NativeContext, StepResult } from '../engine/native.js';
import type { StepPlan, StepPlanner } from './batch.js';
import type { Job } from './job.js';
import type { RequestLog } from './types.js';

export interface LoopObserver {
  /** A step finished: its plan and how long the engine took. */
  stepped(plan: StepPlan, seconds: number): void;
  /** Planning threw: the engine is unusable (e.g. disposed); every request must fail with this. */
  broken(error: unknown): void;
  idle(): void;
}

interface InFlight {
  plan: StepPlan;
  results: Promise<StepResult[]>;
  startedAt: number;
}

export class EngineLoop {
  private inFlight: InFlight | undefined;
  private active = false;
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly ctx: NativeContext,
    private readonly planner: StepPlanner,
    private readonly observer: LoopObserver,
    private readonly log?: RequestLog,
  ) {}

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** New work or a cancellation: plan a step now if the loop is idle. */
  wake(): void {
    if (!this.active) {
      this.active = true;
      void this.run();
    }
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    for (;;) {
      const finished = this.inFlight;
      if (finished) await this.takeResults(finished);
      this.inFlight = this.startNext();
      if (finished) deliver(finished.plan);
      if (!this.inFlight) {
        this.observer.idle();
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        this.wakeUp = undefined;
      }
    }
  }

  private startNext(): InFlight | undefined {
    let plan: StepPlan | undefined;
    try {
      plan = this.planner.plan();
    } catch (err) {
      this.log?.warn({ err: String(err) }, 'step planning failed');
      this.observer.broken(err);
      return undefined;
    }
    if (!plan) return undefined;
    return { plan, results: this.ctx.step(plan.entries), startedAt: performance.now() };
  }

  private async takeResults({ plan, results, startedAt }: InFlight): Promise<void> {
    let outputs: StepResult[];
    try {
      outputs = await results;
    } catch (err) {
      // The engine refused or failed the whole step (it changed nothing): its requests fail.
      this.log?.warn({ err: String(err) }, 'engine step failed');
      for (const job of jobsOf(plan)) job.fail(err);
      return;
    }
    this.observer.stepped(plan, (performance.now() - startedAt) / 1000);
    for (let i = 0; i < plan.seqs.length; i++) {
      const seq = plan.seqs[i];
      if (seq.state !== 'running') continue; // ended while the step ran (stop string, cancel)
      seq.fed += plan.chunks[i];
      seq.job.take(seq, outputs[i], plan.chunks[i]);
    }
  }
}

function jobsOf(plan: StepPlan): Set<Job> {
  return new Set(plan.seqs.map((s) => s.job));
}

function deliver(plan: StepPlan): void {
  for (const job of jobsOf(plan)) {
    try {
      job.deliver();
    } catch (err) {
      job.fail(err);
    }
  }
}
