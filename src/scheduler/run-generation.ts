// Runs one generation request on a native context: prefill once, then each choice decodes
// until an end-of-generation token, a stop string or its token budget, sending text deltas
// (UTF-8 safe, stop strings never leaked) as events.
import { Detokenizer } from '../engine/detokenizer.js';
import type { LoadedModel } from '../engine/loaded-model.js';
import type { NativeContext, SamplingOptions, StepEntry, StepResult } from '../engine/native.js';
import type { Metrics } from '../observability/metrics.js';
import type { Channel } from './channel.js';
import { CancelledError } from './errors.js';
import { StopMatcher } from './stop-matcher.js';
import type { FinishReason, GenerationEvent, GenerationRequest, TokenLogprobs } from './types.js';

/** The prompt's sequence (shared by forks when n > 1) and the sequence a choice decodes in. */
const PROMPT_SEQ = 0;
const CHOICE_SEQ = 1;

export interface GenerationRun {
  ctx: NativeContext;
  model: LoadedModel;
  modelId: string;
  request: GenerationRequest;
  signal: AbortSignal;
  out: Channel<GenerationEvent>;
  metrics?: Metrics;
  queuedAt: number;
}

export async function runGeneration(run: GenerationRun): Promise<void> {
  const { ctx, request } = run;
  const prompt = request.prompt;
  const seeds = choiceSeeds(request);
  const sampling = (i: number): SamplingOptions => ({ ...request.sampling, seed: seeds[i], logprobs: request.logprobs });
  let completionTokens = 0;
  const timing = { first: true, queuedAt: run.queuedAt };
  run.metrics?.promptTokens.inc({ model: run.modelId }, prompt.length);
  try {
    if (request.n === 1) {
      const first: StepEntry = { seq: CHOICE_SEQ, tokens: prompt, pos: 0, sample: true, sampling: sampling(0) };
      completionTokens += await runChoice(run, 0, first, timing);
    } else {
      // Evaluate all but the last prompt token once; each choice forks it and samples its own continuation.
      const head = prompt.slice(0, -1);
      const last = prompt[prompt.length - 1];
      if (head.length > 0) {
        checkAborted(run.signal);
        await ctx.step([{ seq: PROMPT_SEQ, tokens: head, pos: 0, sample: false, sampling: sampling(0) }]);
      }
      for (let i = 0; i < request.n; i++) {
        if (head.length > 0) ctx.fork(PROMPT_SEQ, CHOICE_SEQ);
        const first: StepEntry = { seq: CHOICE_SEQ, tokens: [last], pos: head.length, sample: true, sampling: sampling(i) };
        completionTokens += await runChoice(run, i, first, timing);
        ctx.free(CHOICE_SEQ);
      }
    }
    run.out.push({ type: 'done', usage: { promptTokens: prompt.length, completionTokens, cachedTokens: 0 } });
    run.out.end();
  } finally {
    ctx.free(CHOICE_SEQ);
    ctx.free(PROMPT_SEQ);
  }
}

function choiceSeeds(request: GenerationRequest): number[] {
  const base = request.sampling.seed;
  return Array.from({ length: request.n }, (_, i) =>
    base === undefined ? Math.floor(Math.random() * 2 ** 48) : base + i,
  );
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError();
}

/** Decodes one choice; returns how many tokens it generated. */
async function runChoice(
  run: GenerationRun,
  index: number,
  first: StepEntry,
  timing: { first: boolean; queuedAt: number },
): Promise<number> {
  const { ctx, model, request, out } = run;
  const eog = new Set(model.tokenizer.endOfGenerationIds);
  // The prompt came before: keep the first piece's leading space, as llama.cpp's server does.
  const detok = new Detokenizer(model.tokenizer, { stripLeadingSpace: false, cleanSpaces: false });
  const stops = new StopMatcher(request.stop);
  const pending: number[] = [];
  const pendingLogprobs: TokenLogprobs[] = [];
  const emit = (text: string) => {
    if (text === '') return;
    out.push({
      type: 'delta', index, text, tokens: pending.splice(0),
      logprobs: request.logprobs === undefined ? undefined : pendingLogprobs.splice(0),
    });
  };
  // The generation ended: text held back for an unfinished character or a possible stop string is final now.
  const finish = (reason: FinishReason) => {
    const tail = stops.push(detok.flush());
    emit(tail.text + (tail.stopped ? '' : stops.flush()));
    out.push({ type: 'finish', index, reason: tail.stopped ? 'stop' : reason });
  };
  const labels = { model: run.modelId };

  let pos = first.pos + first.tokens.length;
  let generated = 0;
  let lastAt = 0;
  checkAborted(run.signal);
  // One step stays in flight: the next token's step starts before this token is detokenized,
  // checked for stop strings and sent, so that work overlaps the forward pass.
  let inFlight: Promise<StepResult[]> | undefined = ctx.step([first]);
  try {
    for (;;) {
      const [result] = await inFlight!;
      inFlight = undefined;
      const token = result.token!;
      const now = performance.now();
      if (timing.first) {
        timing.first = false;
        run.metrics?.timeToFirstToken.observe(labels, (now - timing.queuedAt) / 1000);
      } else if (lastAt > 0) {
        run.metrics?.interTokenLatency.observe(labels, (now - lastAt) / 1000);
      }
      lastAt = now;
      if (eog.has(token)) break;
      generated++;
      const more = generated < request.maxTokens;
      if (more && !run.signal.aborted) inFlight = ctx.step([{ seq: first.seq, tokens: [token], pos: pos++, sample: true }]);
      run.metrics?.generatedTokens.inc(labels);
      pending.push(token);
      if (request.logprobs !== undefined) pendingLogprobs.push(tokenLogprobs(token, result));
      const { text, stopped } = stops.push(detok.push(token));
      emit(text);
      if (stopped) {
        out.push({ type: 'finish', index, reason: 'stop' });
        return generated;
      }
      if (!more) {
        finish('length');
        return generated;
      }
      checkAborted(run.signal);
    }
  } finally {
    // A step still running owns the context: let it finish before the sequence is freed.
    if (inFlight) await inFlight.catch(() => {});
  }
  finish('stop');
  return generated;
}

function tokenLogprobs(token: number, result: StepResult): TokenLogprobs {
  return {
    id: token,
    logprob: result.logprob ?? 0,
    top: (result.top ?? []).map((t) => ({ id: t.token, logprob: t.logprob })),
  };
}
