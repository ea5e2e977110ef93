// An embedding request in the scheduler: one sequence per input, fed in chunks like any prompt;
// the final hidden state of every token is collected, then the sequence is dropped.
import type { StepEntry, StepResult } from '../engine/native.js';
import { Job, type JobOptions } from './job.js';
import { Sequence } from './sequence.js';

export class EmbeddingJob extends Job {
  /** Every token's hidden state is wanted, so nothing can come from the prefix cache. */
  readonly reusesPrefix = false;
  private readonly chunks: Float32Array[][];
  private readonly results: (Float32Array | undefined)[];
  private readonly width: number;

  constructor(
    inputs: number[][],
    options: JobOptions,
    width: number,
    nextSequenceId: () => number,
    private readonly resolve: (vectors: Float32Array[]) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    super(options);
    this.width = width;
    inputs.forEach((tokens, i) => this.sequences.push(new Sequence(nextSequenceId(), this, i, tokens)));
    this.chunks = inputs.map(() => []);
    this.results = inputs.map(() => undefined);
  }

  initialSequences(): Sequence[] {
    return this.sequences;
  }

  entry(seq: Sequence, chunk: number): StepEntry {
    return { seq: seq.id, tokens: seq.tokens.slice(seq.fed, seq.fed + chunk), pos: seq.fed, hidden: true, logits: 'none', promptTokens: chunk };
  }

  override evicted(seq: Sequence): void {
    this.chunks[seq.index] = [];
  }

  take(seq: Sequence, result: StepResult, _chunk: number): void {
    this.chunks[seq.index].push(result.hidden!);
    if (seq.fed < seq.tokens.length) return;
    this.results[seq.index] = concat(this.chunks[seq.index], seq.tokens.length * this.width);
    this.chunks[seq.index] = [];
    seq.state = 'done';
  }

  deliver(): void {
    if (this.ended || this.results.some((r) => r === undefined)) return;
    this.resolve(this.results as Float32Array[]);
    this.complete();
  }

  protected rejectWith(error: unknown): void {
    this.reject(error);
  }
}

function concat(parts: Float32Array[], length: number): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
