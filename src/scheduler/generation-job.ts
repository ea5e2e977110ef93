// A generation request in the scheduler: n choices of one prompt. The first choice feeds the
// prompt; with n > 1 the others are forked from it just before its last prompt token, so they
// share the prompt's KV blocks, and each samples its own continuation with its own seed.
import type { LoadedModel } from '../engine/loaded-model.js';
import type { SamplingOptions, StepEntry, StepResult } from '../engine/native.js';
import type { Metrics } from '../observability/metrics.js';
import type { Channel } from './channel.js';
import { ChoiceOutput } from './choice-output.js';
import { Job, type JobOptions } from './job.js';
import { Sequence } from './sequence.js';
import type { FinishReason, GenerationEvent, GenerationRequest, TokenLogprobs } from './types.js';

interface Choice {
  seq: Sequence;
  output: ChoiceOutput;
  seed: number;
  generated: number;
  /** Sampled tokens not yet turned into text. */
  undelivered: { token: number; logprobs?: TokenLogprobs }[];
  /** Set when an end-of-generation token or the token budget ended it; the text is flushed at delivery. */
  ending?: FinishReason;
  lastTokenAt: number;
}

export interface GenerationJobContext {
  model: LoadedModel;
  modelId: string;
  metrics?: Metrics;
  /** Gives each new sequence its engine id. */
  nextSequenceId: () => number;
  /** Charges generated tokens to the owner's fairness clock. */
  charge: (owner: string, tokens: number) => void;
}

export class GenerationJob extends Job {
  readonly reusesPrefix = true;
  private readonly choices: Choice[];
  private readonly eog: Set<number>;
  private forked = false;
  private cachedTokens = -1;
  private firstToken = true;
  /** Tokens taken since the last delivery, counted into the metrics once per step. */
  private uncounted = 0;
  /** The metrics' labels, built once rather than per token. */
  private readonly labels: { model: string };

  constructor(
    private readonly request: GenerationRequest,
    options: JobOptions,
    private readonly out: Channel<GenerationEvent>,
    private readonly context: GenerationJobContext,
  ) {
    super(options);
    this.eog = new Set(context.model.tokenizer.endOfGenerationIds);
    const base = request.sampling.seed;
    this.choices = Array.from({ length: request.n }, (_, i) => {
      const seq = new Sequence(context.nextSequenceId(), this, i, [...request.prompt]);
      this.sequences.push(seq);
      return {
        seq,
        output: new ChoiceOutput(i, context.model.tokenizer, request.stop, request.logprobs !== undefined, out),
        seed: base === undefined ? Math.floor(Math.random() * 2 ** 48) : base + i,
        generated: 0,
        undelivered: [],
        lastTokenAt: 0,
      };
    });
    this.forked = request.n === 1;
    this.labels = { model: context.modelId };
    context.metrics?.promptTokens.inc(this.labels, request.prompt.length);
  }

  /** The first choice enters the waiting line; with n > 1 the others follow it by forking. */
  private get lead(): Sequence {
    return this.choices[0].seq;
  }

  initialSequences(): Sequence[] {
    return [this.lead];
  }

  entry(seq: Sequence, chunk: number): StepEntry {
    const entry: StepEntry = {
      seq: seq.id,
      tokens: seq.tokens.slice(seq.fed, seq.fed + chunk),
      pos: seq.fed,
      sample: seq.fed + chunk === seq.tokens.length,
      // Past the prompt come generated tokens fed again after preemption.
      promptTokens: Math.max(0, Math.min(chunk, this.request.prompt.length - seq.fed)),
    };
    if (!seq.samplerReady) entry.sampling = this.sampling(seq.index);
    return entry;
  }

  override chunkLimit(seq: Sequence): number {
    // The first choice stops before the last prompt token until the others are forked from it.
    return this.forked ? seq.unfed : Math.max(0, this.request.prompt.length - 1 - seq.fed);
  }

  override takeForks(seq: Sequence): Sequence[] {
    if (this.forked || seq !== this.lead || seq.fed !== this.request.prompt.length - 1) return [];
    this.forked = true;
    return this.choices.slice(1).map((c) => c.seq);
  }

  override admitted(_seq: Sequence, cached: number): void {
    if (this.cachedTokens < 0) this.cachedTokens = cached;
  }

  take(seq: Sequence, result: StepResult, _chunk: number): void {
    if (result.token === undefined) return;
    const choice = this.choices[seq.index];
    const now = performance.now();
    if (this.firstToken) {
      this.firstToken = false;
      this.context.metrics?.timeToFirstToken.observe(this.labels, (now - this.options.queuedAt) / 1000);
    } else if (choice.lastTokenAt > 0) {
      this.context.metrics?.interTokenLatency.observe(this.labels, (now - choice.lastTokenAt) / 1000);
    }
    choice.lastTokenAt = now;
    if (this.eog.has(result.token)) {
      this.endChoice(choice, 'stop');
      return;
    }
    seq.tokens.push(result.token);
    choice.generated++;
    this.context.charge(this.owner, 1);
    this.uncounted++;
    choice.undelivered.push({ token: result.token, logprobs: this.request.logprobs === undefined ? undefined : tokenLogprobs(result) });
    if (choice.generated >= this.request.maxTokens) this.endChoice(choice, 'length');
  }

  deliver(): void {
    if (this.uncounted > 0) {
      // prom-client hashes the labels on every call: once per step, not once per token.
      this.context.metrics?.generatedTokens.inc(this.labels, this.uncounted);
      this.uncounted = 0;
    }
    if (this.ended) return;
    for (const choice of this.choices) {
      for (const { token, logprobs } of choice.undelivered.splice(0)) {
        if (choice.output.push(token, logprobs)) {
          choice.seq.state = 'done'; // a stop string: anything still in flight for it is dropped
          break;
        }
      }
      if (choice.ending) choice.output.finish(choice.ending);
    }
    if (this.choices.every((c) => c.output.done)) {
      const completionTokens = this.choices.reduce((sum, c) => sum + c.generated, 0);
      this.out.push({
        type: 'done',
        usage: { promptTokens: this.request.prompt.length, completionTokens, cachedTokens: Math.max(0, this.cachedTokens) },
      });
      this.out.end();
      this.complete();
    }
  }

  protected rejectWith(error: unknown): void {
    this.out.fail(error);
  }

  private endChoice(choice: Choice, reason: FinishReason): void {
    choice.ending = reason;
    choice.seq.state = 'done';
  }

  private sampling(index: number): SamplingOptions {
    return { ...this.request.sampling, seed: this.choices[index].seed, logprobs: this.request.logprobs };
  }
}

function tokenLogprobs(result: StepResult): TokenLogprobs {
  return {
    id: result.token!,
    logprob: result.logprob ?? 0,
    top: (result.top ?? []).map((t) => ({ id: t.token, logprob: t.logprob })),
  };
}
