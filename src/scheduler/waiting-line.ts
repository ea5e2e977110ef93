// Sequences waiting for the engine, taken best first: lower priority value, then a sequence
// that was preempted (it already had its turn), then the owner furthest behind on its fairness
// clock, then (clocks level) the owner with fewer sequences running, then arrival order.
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
  peek(running: readonly Sequence[]): Sequence | undefined {
    if (this.sequences.size === 0) return undefined; // the planner asks before every step
    const runningPerOwner = new Map<string, number>();
    for (const seq of running) runningPerOwner.set(seq.job.owner, (runningPerOwner.get(seq.job.owner) ?? 0) + 1);
    let best: Rank | undefined;
    for (const seq of this.sequences) {
      const r: Rank = { seq, vtime: this.clocks.vtime(seq.job.owner), running: runningPerOwner.get(seq.job.owner) ?? 0 };
      if (!best || before(r, best)) best = r;
    }
    return best?.seq;
  }
}

interface Rank {
  seq: Sequence;
  vtime: number;
  running: number;
}

function before(x: Rank, y: Rank): boolean {
  const a = x.seq, b = y.seq;
  if (a.job.priority !== b.job.priority) return a.job.priority < b.job.priority;
  if (a.preempted !== b.preempted) return a.preempted;
  if (x.vtime !== y.vtime) return x.vtime < y.vtime;
  if (x.running !== y.running) return x.running < y.running;
  if (a.job.options.arrival !== b.job.options.arrival) return a.job.options.arrival < b.job.options.arrival;
  return a.index < b.index;
}
