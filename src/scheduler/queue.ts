// The waiting line: first in, first out, bounded; a request whose signal aborts while it waits
// leaves the line at once.
export interface QueuedJob {
  signal: AbortSignal;
  /** Called when the job leaves the line because its signal aborted. */
  cancel(reason: unknown): void;
}

export class FifoQueue<J extends QueuedJob> {
  private readonly jobs: J[] = [];

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.jobs.length;
  }

  get full(): boolean {
    return this.jobs.length >= this.capacity;
  }

  push(job: J): void {
    if (job.signal.aborted) {
      job.cancel(job.signal.reason);
      return;
    }
    this.jobs.push(job);
    job.signal.addEventListener('abort', () => this.remove(job, job.signal.reason), { once: true });
  }

  shift(): J | undefined {
    return this.jobs.shift();
  }

  /** Removes every job, cancelling each with `reason`. */
  clear(reason: unknown): void {
    for (const job of this.jobs.splice(0)) job.cancel(reason);
  }

  private remove(job: J, reason: unknown): void {
    const at = this.jobs.indexOf(job);
    if (at < 0) return; // already running or finished
    this.jobs.splice(at, 1);
    job.cancel(reason);
  }
}
