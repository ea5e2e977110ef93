// The contract between the routes and the scheduler: a route submits a request and reads events.
import type { SamplingOptions } from '../engine/native.js';

/** Where log lines about a request go: the route passes its request-scoped logger (it carries the request id). */
export interface RequestLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface GenerationRequest {
  /** The prompt's token ids (already rendered and tokenized). */
  prompt: number[];
  /** Independent completions of the same prompt (OpenAI's `n`). */
  n: number;
  maxTokens: number;
  /** Sampling for every choice; without a seed, each choice gets a random one. */
  sampling: Omit<SamplingOptions, 'logprobs'>;
  /** Number of alternatives to report per token: undefined none, 0 only the chosen token's. */
  logprobs?: number;
  stop: string[];
  /** Ends when the client is gone or gave up: the sequence is freed within one step. */
  signal: AbortSignal;
  log?: RequestLog;
  /** Lower runs sooner (as in vLLM); 0 by default. */
  priority?: number;
  /** Who the tokens are charged to for fairness (an API key, an agent); one shared owner by default. */
  owner?: string;
  /** Fails the request with RequestTimeoutError if it has not finished by then. */
  timeoutMs?: number;
}

export interface TokenLogprobs {
  id: number;
  logprob: number;
  top: { id: number; logprob: number }[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export type FinishReason = 'stop' | 'length';

export type GenerationEvent =
  /** New final text of choice `index` and the tokens it came from (with logprobs when asked). */
  | { type: 'delta'; index: number; text: string; tokens: number[]; logprobs?: TokenLogprobs[] }
  | { type: 'finish'; index: number; reason: FinishReason }
  /** The last event: totals over all choices. */
  | { type: 'done'; usage: Usage };

export interface EmbeddingRequest {
  inputs: number[][];
  signal: AbortSignal;
  log?: RequestLog;
  priority?: number;
  owner?: string;
  timeoutMs?: number;
}
