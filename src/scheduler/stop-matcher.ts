// Holds back generated text that could still turn into a stop string, so that no part of a stop
// string ever reaches the client, and cuts the text where a stop string is found.
export class StopMatcher {
  private held = '';
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.longest = Math.max(0, ...stops.map((s) => s.length));
  }

  /** Adds text; returns what is safe to send now, and whether a stop string ended the text. */
  push(text: string): { text: string; stopped: boolean } {
    if (this.stops.length === 0) return { text, stopped: false };
    const all = this.held + text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = all.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.held = '';
      return { text: all.slice(0, cut), stopped: true };
    }
    // Keep the longest tail that is a prefix of some stop string.
    let keep = 0;
    for (let n = Math.min(this.longest - 1, all.length); n > 0; n--) {
      const tail = all.slice(all.length - n);
      if (this.stops.some((s) => s.startsWith(tail))) {
        keep = n;
        break;
      }
    }
    this.held = all.slice(all.length - keep);
    return { text: all.slice(0, all.length - keep), stopped: false };
  }

  /** True while some text is held back. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /** The generation ended without a stop string: everything held back is plain text after all. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}
