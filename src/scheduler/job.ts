// A request inside the scheduler: its sequences, who it belongs to, and how its step results
// become events. The scheduler plans steps over sequences and calls back into the job; the two
// kinds of job (generation, embedding) differ only in what a step feeds and returns.
import type { StepEntry, StepResult } from '../engine/native.js';
import type { Sequence } from './sequence.js';
import type { RequestLog } from './types.js';

export interface JobOptions {
  priority: number;
  owner: string;
  /** Arrival order, the last tie-breaker. */
  arrival: number;
  queuedAt: number;
  log?: RequestLog;
}

export abstract class Job {
  readonly sequences: Sequence[] = [];
  ended = false;
  /** Set by the scheduler: tells it the job is over so its sequences are dropped and freed. */
  onEnded: (job: Job) => void = () => {};

  constructor(readonly options: JobOptions) {}

  get priority(): number {
    return this.options.priority;
  }

  get owner(): string {
    return this.options.owner;
  }

  /** Whether a new sequence may start from cached KV blocks (not when every token's output is needed). */
  abstract readonly reusesPrefix: boolean;

  /** The sequences that enter the waiting line when the job is submitted. */
  abstract initialSequences(): Sequence[];

  /** The step entry that feeds `seq` its next `chunk` tokens. */
  abstract entry(seq: Sequence, chunk: number): StepEntry;

  /** The most tokens `seq` may be fed now (a first choice stops before its last prompt token until it is forked). */
  chunkLimit(seq: Sequence): number {
    return seq.unfed;
  }

  /** Choices waiting to be forked from `seq` now that it holds the shared prompt; empty when none. */
  takeForks(_seq: Sequence): Sequence[] {
    return [];
  }

  /** A sequence was admitted; `cached` of its tokens came from the prefix cache. */
  admitted(_seq: Sequence, _cached: number): void {}

  /** A sequence lost its KV blocks and will be fed again from the start. */
  evicted(_seq: Sequence): void {}

  /** After a step: the cheap part (new tokens, end conditions), before the next step is planned. */
  abstract take(seq: Sequence, result: StepResult, chunk: number): void;

  /** After the next step started: the heavy part (text, events), overlapped with the engine's work. */
  abstract deliver(): void;

  /** Ends the job with an error (cancelled, timed out, engine failure). */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.rejectWith(error);
    this.onEnded(this);
  }

  protected complete(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnded(this);
  }

  protected abstract rejectWith(error: unknown): void;
}
