// Fair sharing between owners (API keys, agents) by virtual time: each owner's clock counts the
// tokens computed for it, and the waiting sequence whose owner's clock is furthest behind goes
// first. An owner coming back after being idle starts at the slowest active clock, so idle time
// is not banked as credit to starve the others later.
const MAX_IDLE_CLOCKS = 4096;

export class OwnerClocks {
  private readonly clocks = new Map<string, number>();
  /** Sequences waiting or running per owner: an owner with none is idle. */
  private readonly live = new Map<string, number>();

  vtime(owner: string): number {
    return this.clocks.get(owner) ?? 0;
  }

  /** An owner's sequence enters the scheduler. */
  join(owner: string): void {
    const count = this.live.get(owner) ?? 0;
    if (count === 0) this.clocks.set(owner, Math.max(this.vtime(owner), this.slowestActive()));
    this.live.set(owner, count + 1);
  }

  /** An owner's sequence leaves the scheduler (finished, failed or cancelled). */
  leave(owner: string): void {
    const count = (this.live.get(owner) ?? 1) - 1;
    if (count > 0) {
      this.live.set(owner, count);
      return;
    }
    this.live.delete(owner);
    // Many one-off owners (e.g. OpenAI `user` values) must not grow the map forever.
    if (this.clocks.size > MAX_IDLE_CLOCKS) this.clocks.delete(owner);
  }

  charge(owner: string, tokens: number): void {
    this.clocks.set(owner, this.vtime(owner) + tokens);
  }

  private slowestActive(): number {
    let min = Infinity;
    for (const owner of this.live.keys()) min = Math.min(min, this.vtime(owner));
    return Number.isFinite(min) ? min : 0;
  }
}
