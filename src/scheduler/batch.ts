// Plans each engine step: the next token of every running sequence, then chunks of prompts
// (chunked prefill) under a token budget, so a long prompt never freezes the streams already
// running. While streams are generating, a step carries at most as many prompt tokens as it
// has streams (at least kMinPromptTokens): a newcomer's prompt then costs each stream about
// one step's time more per step, not a whole prompt's worth at once. It admits waiting
// sequences while the budget, the sequence limit and the KV cache allow (reusing cached
// prefix blocks first), and when the KV cache runs out it preempts the lowest-priority, most
// recently admitted sequence: its blocks are freed and it is recomputed later. Runs only
// between steps: it is the one place that changes the engine's KV cache.
import type { NativeContext, StepEntry } from '../engine/native.js';
import type { Sequence } from './sequence.js';
import type { WaitingLine } from './waiting-line.js';

export interface PlannerOptions {
  /** Most tokens fed to the engine in one step. */
  tokenBudget: number;
  /** Most sequences running at once. */
  maxSequences: number;
  blockSize: number;
  prefixCache: boolean;
}

export interface PlannerEvents {
  admitted(seq: Sequence, cached: number): void;
  preempted(seq: Sequence): void;
}

export interface StepPlan {
  entries: StepEntry[];
  /** The sequence of each entry and how many tokens it feeds. */
  seqs: Sequence[];
  chunks: number[];
}

/** Prompt tokens a step may carry beside generating streams, when there are fewer streams. */
const kMinPromptTokens = 16;

interface Budget {
  tokens: number;
  /** Of those, prompt tokens (everything but a generating stream's next token). */
  promptTokens: number;
  /** KV blocks the planned entries will take. */
  blocks: number;
}

export class StepPlanner {
  /** Admitted sequences, best first after each plan: priority, then admission order. */
  readonly running: Sequence[] = [];
  /** Sequences that ended while not running but hold engine state (a sampler kept over preemption). */
  private readonly released: Sequence[] = [];
  private admissions = 0;
  /** The engine's free block count, read once and again only after something changed it. */
  private knownFree: number | undefined;

  /** Kept free when admitting while others run, so running sequences can grow a little. */
  private readonly reserveBlocks: number;

  constructor(
    private readonly ctx: NativeContext,
    private readonly waiting: WaitingLine,
    private readonly options: PlannerOptions,
    private readonly events: PlannerEvents,
  ) {
    this.reserveBlocks = Math.max(1, Math.ceil(ctx.stats().kvBlocksTotal / 100));
  }

  /** A sequence ended outside the running set; its engine state is freed at the next plan. */
  release(seq: Sequence): void {
    if (seq.admittedAt >= 0 || seq.samplerReady) this.released.push(seq);
  }

  /** The next step, or undefined when there is nothing to run. */
  plan(): StepPlan | undefined {
    this.kvChanged(); // the last step used blocks
    this.reap();
    const plan: StepPlan = { entries: [], seqs: [], chunks: [] };
    let streams = 0;
    for (const seq of this.running) if (isGenerating(seq)) streams++;
    const promptTokens = streams > 0 ? Math.max(kMinPromptTokens, streams) : this.options.tokenBudget;
    const budget: Budget = { tokens: this.options.tokenBudget, promptTokens, blocks: 0 };
    this.running.sort((a, b) => a.job.priority - b.job.priority || a.admittedAt - b.admittedAt);
    for (let i = 0; i < this.running.length; i++) {
      if (!this.planSequence(this.running[i], plan, budget)) i--;
    }
    while (this.running.length < this.options.maxSequences && budget.tokens > 0 && budget.promptTokens > 0) {
      const seq = this.waiting.peek(this.running);
      if (!seq || !this.admit(seq, budget)) break;
      for (let i = this.running.length - 1; i < this.running.length; i++) {
        if (!this.planSequence(this.running[i], plan, budget)) i--;
      }
      if (seq.state !== 'running') break; // it did not fit after all: stop admitting this step
    }
    return plan.entries.length > 0 ? plan : undefined;
  }

  /** Frees the engine state of sequences that ended. */
  private reap(): void {
    for (let i = this.running.length - 1; i >= 0; i--) {
      if (this.running[i].state !== 'done') continue;
      this.ctx.free(this.running[i].id);
      this.running.splice(i, 1);
      this.kvChanged();
    }
    for (const seq of this.released.splice(0)) {
      this.ctx.free(seq.id);
      this.kvChanged();
    }
  }

  /**
   * Adds `seq`'s next chunk to the plan, preempting others (or `seq` itself) when the KV cache
   * is short. Returns false when `seq` was preempted and so left the running set.
   */
  private planSequence(seq: Sequence, plan: StepPlan, budget: Budget): boolean {
    const forks = seq.job.takeForks(seq);
    if (forks.length > 0) this.fork(seq, forks);
    const prompt = !isGenerating(seq);
    const chunk = Math.min(seq.job.chunkLimit(seq), budget.tokens, prompt ? budget.promptTokens : 1);
    if (chunk <= 0) return true;
    const need = this.blocksNeeded(seq, chunk);
    while (budget.blocks + need > this.freeBlocks()) {
      const victim = this.lastUnplanned(plan);
      this.preempt(victim);
      if (victim === seq) return false;
    }
    const entry = seq.job.entry(seq, chunk);
    plan.entries.push(entry);
    plan.seqs.push(seq);
    plan.chunks.push(chunk);
    if (entry.sampling) seq.samplerReady = true;
    seq.sharedTail = false;
    budget.tokens -= chunk;
    if (prompt) budget.promptTokens -= chunk;
    budget.blocks += need;
    return true;
  }

  /** The preemption victim: the worst running sequence that has no entry in this step yet. */
  private lastUnplanned(plan: StepPlan): Sequence {
    for (let i = this.running.length - 1; ; i--) {
      if (!plan.seqs.includes(this.running[i])) return this.running[i];
    }
  }

  /** Moves `seq` from the waiting line into the running set if the KV cache can hold its tokens. */
  private admit(seq: Sequence, budget: Budget): boolean {
    let cached = 0;
    if (this.options.prefixCache && seq.job.reusesPrefix) cached = this.ctx.reusePrefix(seq.id, seq.tokens);
    if (cached > 0) this.kvChanged();
    const room = this.blocks(seq.tokens.length + 1) - this.blocks(cached);
    const reserve = this.running.length > 0 ? this.reserveBlocks : 0;
    if (budget.blocks + room + reserve > this.freeBlocks()) {
      if (cached > 0) {
        this.ctx.evict(seq.id);
        this.kvChanged();
      }
      return false;
    }
    this.waiting.remove(seq);
    seq.fed = cached;
    seq.state = 'running';
    seq.admittedAt = this.admissions++;
    this.running.push(seq);
    this.events.admitted(seq, cached);
    return true;
  }

  /** The other choices of `lead`'s request share its prompt blocks. */
  private fork(lead: Sequence, forks: Sequence[]): void {
    const sharesTail = lead.fed % this.options.blockSize !== 0;
    for (const seq of forks) {
      if (lead.fed > 0) this.ctx.fork(lead.id, seq.id);
      seq.fed = lead.fed;
      seq.sharedTail = sharesTail;
      seq.state = 'running';
      seq.admittedAt = this.admissions++;
      this.running.push(seq);
    }
    lead.sharedTail = sharesTail;
  }

  private preempt(seq: Sequence): void {
    this.ctx.evict(seq.id);
    this.kvChanged();
    this.running.splice(this.running.indexOf(seq), 1);
    seq.fed = 0;
    seq.sharedTail = false;
    seq.admittedAt = -1;
    seq.preempted = true;
    this.waiting.add(seq);
    seq.job.evicted(seq);
    this.events.preempted(seq);
  }

  private blocks(tokens: number): number {
    return Math.ceil(tokens / this.options.blockSize);
  }

  /** New blocks feeding `chunk` tokens takes: fresh blocks, plus a copy of a shared last block. */
  private blocksNeeded(seq: Sequence, chunk: number): number {
    return this.blocks(seq.fed + chunk) - this.blocks(seq.fed) + (seq.sharedTail ? 1 : 0);
  }

  private freeBlocks(): number {
    this.knownFree ??= this.ctx.kvBlocksFree();
    return this.knownFree;
  }

  /** Something changed the engine's KV cache between steps. */
  private kvChanged(): void {
    this.knownFree = undefined;
  }
}

/** A stream: a sequence that has sampled and now feeds back one token at a time. */
function isGenerating(seq: Sequence): boolean {
  return seq.samplerReady && seq.unfed === 1;
}
