// Sequences waiting for the engine, taken best first: lower priority value, then a sequence
// that was preempted (it already had its turn), then the owner furthest behind on its fairness
// clock, then arrival order.
import type { OwnerClocks } from './fairness.js';
import type { Sequence } from './sequence.js';

export class WaitingLine {
  private readonly sequences = new Set<Sequence>();

  constructor(private readonly clocks: OwnerClocks) {}

  get length(): number {
    return this.sequences.size;
  }

  add(seq: Sequence): void {
    seq.state = 'waiting';
    this.sequences.add(seq);
  }

  remove(seq: Sequence): void {
    this.sequences.delete(seq);
  }

  /** The sequence that should start next, left in the line. */
  peek(): Sequence | undefined {
    let best: Sequence | undefined;
    let bestVtime = 0;
    for (const seq of this.sequences) {
      const vtime = this.clocks.vtime(seq.job.owner);
      if (!best || this.before(seq, vtime, best, bestVtime)) {
        best = seq;
        bestVtime = vtime;
      }
    }
    return best;
  }

  private before(a: Sequence, aVtime: number, b: Sequence, bVtime: number): boolean {
    if (a.job.priority !== b.job.priority) return a.job.priority < b.job.priority;
    if (a.preempted !== b.preempted) return a.preempted;
    if (aVtime !== bVtime) return aVtime < bVtime;
    if (a.job.options.arrival !== b.job.options.arrival) return a.job.options.arrival < b.job.options.arrival;
    return a.index < b.index;
  }
}
