// Running requests straight through a Scheduler (no HTTP) and collecting what they produce.
import { LoadedModel } from '../../src/engine/loaded-model.js';
import { Metrics } from '../../src/observability/metrics.js';
import { Scheduler, type SchedulerOptions } from '../../src/scheduler/scheduler.js';
import type { GenerationEvent, GenerationRequest, Usage } from '../../src/scheduler/types.js';

const loaded = new Map<string, Promise<LoadedModel>>();
export function loadOnce(file: string): Promise<LoadedModel> {
  if (!loaded.has(file)) loaded.set(file, LoadedModel.load(file));
  return loaded.get(file)!;
}

export function makeScheduler(model: LoadedModel, options: Partial<SchedulerOptions> = {}): Scheduler {
  return new Scheduler({
    modelId: 'test',
    model,
    contextSize: 512,
    threads: 2,
    maxQueue: 256,
    kvTokens: 4096,
    stepTokens: 256,
    maxSequences: 64,
    metrics: new Metrics(),
    ...options,
  });
}

export interface Collected {
  tokens: number[][];
  text: string[];
  finish: string[];
  usage?: Usage;
}

export async function collect(events: AsyncIterable<GenerationEvent>, onEvent?: (e: GenerationEvent) => void): Promise<Collected> {
  const out: Collected = { tokens: [], text: [], finish: [] };
  for await (const e of events) {
    onEvent?.(e);
    if (e.type === 'delta') {
      (out.tokens[e.index] ??= []).push(...e.tokens);
      out.text[e.index] = (out.text[e.index] ?? '') + e.text;
    } else if (e.type === 'finish') {
      out.finish[e.index] = e.reason;
    } else {
      out.usage = e.usage;
    }
  }
  return out;
}

/** A greedy request of exactly `maxTokens` tokens (end-of-generation banned), no stop strings. */
export function greedyRequest(model: LoadedModel, prompt: number[], maxTokens: number, extra: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    prompt,
    n: 1,
    maxTokens,
    sampling: { temperature: 0, logitBias: model.tokenizer.endOfGenerationIds.map((id) => [id, -Infinity] as [number, number]) },
    stop: [],
    signal: new AbortController().signal,
    ...extra,
  };
}

export function tokenize(model: LoadedModel, text: string): number[] {
  return model.tokenizer.tokenize(text, { addSpecial: true });
}
