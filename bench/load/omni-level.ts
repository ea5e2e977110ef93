// One concurrency level against the Omni server: `c` clients (streamed completions, read by
// ../sse-client.ts) each send `rounds` requests back to back. Per request: time to first content
// chunk and the gaps between content chunks; per level: completion tokens (from the usage
// chunk) over the level's wall time.
import { isContentChunk, streamCompletion } from '../sse-client.js';

export interface RequestSpec {
  model: string;
  prompt: string;
  maxTokens: number;
  /** token id → bias; -100 on the end-of-generation ids, so every request makes maxTokens tokens. */
  logitBias: Record<string, number>;
}

interface RequestResult {
  ttftMs: number;
  /** Gaps between successive content chunks (a chunk may carry more than one token). */
  gapsMs: number[];
  chunks: number;
  promptTokens: number;
  completionTokens: number;
}

export interface LevelResult {
  c: number;
  requests: number;
  ok: number;
  /** Failure text → count (e.g. '429 ...'), for requests that did not finish. */
  errors: Map<string, number>;
  /** Finished requests that made fewer tokens than asked (the EOG ban did not hold). */
  short: number;
  wallMs: number;
  completionTokens: number;
  promptTokens: number;
  chunks: number;
  tps: number;
  ttftMs: number[];
  itlMs: number[];
}

async function streamOne(baseUrl: string, spec: RequestSpec): Promise<RequestResult> {
  const t0 = performance.now();
  const body = {
    model: spec.model,
    prompt: spec.prompt,
    max_tokens: spec.maxTokens,
    temperature: 0,
    logit_bias: spec.logitBias,
    stream_options: { include_usage: true },
  };
  const result: RequestResult = { ttftMs: NaN, gapsMs: [], chunks: 0, promptTokens: 0, completionTokens: 0 };
  let last = 0;
  await streamCompletion(baseUrl, body, (chunk) => {
    if (chunk.usage) {
      result.promptTokens = chunk.usage.prompt_tokens;
      result.completionTokens = chunk.usage.completion_tokens;
    }
    if (!isContentChunk(chunk)) return;
    const now = performance.now();
    if (result.chunks === 0) result.ttftMs = now - t0;
    else result.gapsMs.push(now - last);
    last = now;
    result.chunks++;
  });
  return result;
}

function describeError(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 160);
}

/** Runs the level: c clients × rounds requests; failures are counted, not thrown. */
export async function runOmniLevel(baseUrl: string, spec: RequestSpec, c: number, rounds: number): Promise<LevelResult> {
  const level: LevelResult = {
    c, requests: c * rounds, ok: 0, errors: new Map(), short: 0, wallMs: 0,
    completionTokens: 0, promptTokens: 0, chunks: 0, tps: 0, ttftMs: [], itlMs: [],
  };
  const record = (r: RequestResult) => {
    level.ok++;
    if (r.completionTokens < spec.maxTokens) level.short++;
    level.completionTokens += r.completionTokens;
    level.promptTokens += r.promptTokens;
    level.chunks += r.chunks;
    if (Number.isFinite(r.ttftMs)) level.ttftMs.push(r.ttftMs);
    level.itlMs.push(...r.gapsMs);
  };
  const fail = (err: unknown) => {
    const key = describeError(err);
    level.errors.set(key, (level.errors.get(key) ?? 0) + 1);
  };
  const clientLoop = async () => {
    for (let r = 0; r < rounds; r++) await streamOne(baseUrl, spec).then(record, fail);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: c }, clientLoop));
  level.wallMs = performance.now() - t0;
  level.tps = level.completionTokens / (level.wallMs / 1000);
  return level;
}

/** One level's samples from several passes as one result: counts and wall times added, samples joined. */
export function poolLevels(passes: readonly LevelResult[]): LevelResult {
  const pooled: LevelResult = {
    c: passes[0].c, requests: 0, ok: 0, errors: new Map(), short: 0, wallMs: 0,
    completionTokens: 0, promptTokens: 0, chunks: 0, tps: 0, ttftMs: [], itlMs: [],
  };
  for (const l of passes) {
    pooled.requests += l.requests;
    pooled.ok += l.ok;
    for (const [what, n] of l.errors) pooled.errors.set(what, (pooled.errors.get(what) ?? 0) + n);
    pooled.short += l.short;
    pooled.wallMs += l.wallMs;
    pooled.completionTokens += l.completionTokens;
    pooled.promptTokens += l.promptTokens;
    pooled.chunks += l.chunks;
    pooled.ttftMs = pooled.ttftMs.concat(l.ttftMs);
    pooled.itlMs = pooled.itlMs.concat(l.itlMs);
  }
  pooled.tps = pooled.completionTokens / (pooled.wallMs / 1000);
  return pooled;
}
