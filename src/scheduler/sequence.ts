// One sequence in the engine: a choice of a generation or one input of an embedding request.
// It knows all its tokens (prompt, then what was generated) and how many of them the engine's
// KV cache holds; the planner feeds it the rest, a chunk per step.
import type { Job } from './job.js';

export type SequenceState =
  /** A choice of n > 1 that will be forked from its request's first choice once the prompt is in. */
  | 'pending'
  | 'waiting'
  | 'running'
  /** Finished, failed or cancelled: its engine state is freed at the next step boundary. */
  | 'done';

export class Sequence {
  state: SequenceState = 'pending';
  /** Tokens held in the engine's KV cache (a prefix of `tokens`). */
  fed = 0;
  /** The engine holds this sequence's sampler (it survives preemption, so a recompute samples the same). */
  samplerReady = false;
  /** Forked with a partly filled last block that it shares: its first write copies that block. */
  sharedTail = false;
  /** Admission order while running: preemption takes the most recently admitted first. */
  admittedAt = -1;
  /** Was running once and was preempted: it goes back to the head of its priority. */
  preempted = false;

  constructor(
    /** The engine's sequence id. */
    readonly id: number,
    readonly job: Job,
    /** The choice index, or the embedding input's index. */
    readonly index: number,
    readonly tokens: number[],
  ) {}

  get unfed(): number {
    return this.tokens.length - this.fed;
  }
}
