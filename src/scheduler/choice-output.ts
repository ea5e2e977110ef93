// Turns one choice's generated tokens into its events: UTF-8-safe text deltas in which a stop
// string never appears (not even partly, across chunk boundaries), the tokens (and logprobs)
// each delta came from, and the finish event.
import { Detokenizer } from '../engine/detokenizer.js';
import type { Tokenizer } from '../engine/tokenizer/index.js';
import type { Channel } from './channel.js';
import { StopMatcher } from './stop-matcher.js';
import type { FinishReason, GenerationEvent, TokenLogprobs } from './types.js';

export class ChoiceOutput {
  private readonly detok: Detokenizer;
  private readonly stops: StopMatcher;
  private readonly pending: number[] = [];
  private readonly pendingLogprobs: TokenLogprobs[] = [];
  private finished = false;

  constructor(
    private readonly index: number,
    tokenizer: Tokenizer,
    stop: string[],
    private readonly withLogprobs: boolean,
    private readonly out: Channel<GenerationEvent>,
  ) {
    // The prompt came before: keep the first piece's leading space, as llama.cpp's server does.
    this.detok = new Detokenizer(tokenizer, { stripLeadingSpace: false, cleanSpaces: false });
    this.stops = new StopMatcher(stop);
  }

  get done(): boolean {
    return this.finished;
  }

  /** Sends what the token completes; returns true when it completed a stop string (the choice is finished). */
  push(token: number, logprobs?: TokenLogprobs): boolean {
    if (this.finished) return true;
    this.pending.push(token);
    if (logprobs) this.pendingLogprobs.push(logprobs);
    const { text, stopped } = this.stops.push(this.detok.push(token));
    this.emit(text);
    if (stopped) this.end('stop');
    return stopped;
  }

  /** The generation ended: text held back for an unfinished character or a possible stop string is final now. */
  finish(reason: FinishReason): void {
    if (this.finished) return;
    const tail = this.stops.push(this.detok.flush());
    this.emit(tail.text + (tail.stopped ? '' : this.stops.flush()));
    this.end(tail.stopped ? 'stop' : reason);
  }

  private end(reason: FinishReason): void {
    this.finished = true;
    this.out.push({ type: 'finish', index: this.index, reason });
  }

  private emit(text: string): void {
    if (text === '') return;
    this.out.push({
      type: 'delta',
      index: this.index,
      text,
      tokens: this.pending.splice(0),
      logprobs: this.withLogprobs ? this.pendingLogprobs.splice(0) : undefined,
    });
  }
}
