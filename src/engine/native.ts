// The typed face of the native addon (build/native/Release/omni.node). Everything the
// engine does in C++ is reached through these few functions; nothing else crosses.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type GgufMetadataValue =
  | number
  | string
  | boolean
  | ArrayLike<number>
  | GgufMetadataValue[];

export interface TensorInfo {
  name: string;
  type: number;
  typeName: string;
  dims: number[];
  bytes: number;
  /** Where its data starts in the file. */
  offset: number;
}

export interface HParams {
  architecture: string;
  nVocab: number;
  nCtxTrain: number;
  nEmbd: number;
  nLayer: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nRot: number;
  rmsEps: number;
  ropeBase: number;
  ropeNeox: boolean;
  tiedOutput: boolean;
  ropeFreqFactors: boolean;
}

export interface NativeModelInfo {
  path: string;
  ggufVersion: number;
  fileSize: number;
  vocabOnly: boolean;
  metadata: Record<string, GgufMetadataValue>;
  tensors: TensorInfo[];
  hparams?: HParams;
  weightBytes?: number;
}

export interface NativeModel {
  info(): NativeModelInfo;
  dispose(): void;
}

export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  penaltyWindow?: number;
  logitBias?: [number, number][];
  seed?: number;
  /** -1 or absent: none; 0: the chosen token's logprob; N: also the N most likely. */
  logprobs?: number;
}

export interface StepEntry {
  seq: number;
  tokens: number[] | Int32Array;
  /** Position of tokens[0]; must equal the sequence's current length. */
  pos: number;
  sample?: boolean;
  sampling?: SamplingOptions;
  logits?: 'none' | 'last' | 'all';
  hidden?: boolean;
  /**
   * How many leading tokens are prompt tokens; the rest are generated tokens fed back. Prompt
   * tokens are attended together (the prefill way), so a prompt gets the same numbers however
   * it is split into steps or taken from the prefix cache; generated tokens one at a time (the
   * decode way), so feeding them again after preemption reproduces them exactly. Default: all
   * of them when there are several, none for a single token.
   */
  promptTokens?: number;
}

export interface TokenLogprob {
  token: number;
  logprob: number;
}

export interface StepResult {
  seq: number;
  token?: number;
  logprob?: number;
  top?: TokenLogprob[];
  logits?: Float32Array;
  hidden?: Float32Array;
}

export interface ContextOptions {
  threads?: number;
  kvTokens?: number;
  kvBlockSize?: number;
  maxBatchTokens?: number;
  backend?: string;
  /**
   * Automatic prefix caching (default true): each KV block a step fills is registered by the
   * hash of its tokens and of everything before it, and kept after release until its room is needed.
   */
  prefixCache?: boolean;
}

export interface ContextStats {
  backend: string;
  kvBlocksTotal: number;
  /** Blocks a step can still take: never used or released, plus `kvBlocksCached`. */
  kvBlocksFree: number;
  /** Released blocks kept for reusePrefix; taken over (least recently released first) when needed. */
  kvBlocksCached: number;
  /** Tokens per KV block: the unit blocks are cached and shared in. */
  kvBlockSize: number;
  /** Forward passes run so far. */
  steps: number;
}

/**
 * A step is claimed from the moment step() is called until its promise settles; meanwhile a
 * second step() rejects and truncate/fork/free/evict/reusePrefix throw ("a step is running").
 */
export interface NativeContext {
  step(batch: StepEntry[]): Promise<StepResult[]>;
  /** Drops the sequence's tokens from `length` on, in the KV cache and the sampler's history. */
  truncate(seq: number, length: number): void;
  /** Makes `dst` a copy of `src`: KV blocks shared (copied on write), sampler (RNG, history) copied. */
  fork(src: number, dst: number): void;
  /** Forgets the sequence: KV blocks (full ones stay cached for reusePrefix) and sampler. */
  free(seq: number): void;
  /**
   * Preemption: frees the KV blocks but keeps the sampler (params, RNG, history). Feed the
   * sequence's tokens again from 0 (or after reusePrefix) without `sampling` (a seed in it
   * would restart the RNG) and it samples exactly as if never evicted. Unknown seq: no-op.
   */
  evict(seq: number): void;
  /**
   * For an empty sequence: attaches cached KV blocks holding the longest run of whole blocks
   * of `tokens`, then copies the shared start of a cached block that matches only in part
   * (always leaving at least the last token to feed), and returns how many tokens that is
   * (0 on a miss); continue with a step at pos = that number, marking the prompt's tokens
   * with `promptTokens` so they get the numbers a cold prompt gives them.
   */
  reusePrefix(seq: number, tokens: number[] | Int32Array): number;
  /** Tokens the sequence holds (0 when unknown). */
  length(seq: number): number;
  stats(): ContextStats;
  /** `stats().kvBlocksFree` alone, without building the rest. */
  kvBlocksFree(): number;
  dispose(): void;
}

export interface BackendProbe {
  name: string;
  available: boolean;
  detail: string;
}

interface Addon {
  loadModel(path: string, options?: { vocabOnly?: boolean }): Promise<NativeModel>;
  createContext(model: NativeModel, options?: ContextOptions): NativeContext;
  quantize(type: number, values: Float32Array): Uint8Array;
  dequantize(type: number, bytes: Uint8Array, count: number): Float32Array;
  backends(extraSearchPath?: string): BackendProbe[];
  cpuInfo(): { best: string; selected?: string; error?: string };
}

function findAddon(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/engine (tsx) or dist/src/engine (compiled): walk up to the package root.
  for (let dir = here; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'build', 'native', 'Release', 'omni.node');
    if (existsSync(candidate)) return candidate;
    if (existsSync(path.join(dir, 'package.json'))) break;
  }
  throw new Error('The Omni native addon is not built. Run `npm ci` (or `npm run build:native`) in the Omni folder.');
}

let addon: Addon | undefined;
function native(): Addon {
  addon ??= createRequire(import.meta.url)(findAddon()) as Addon;
  return addon;
}

export const loadModel = (file: string, options?: { vocabOnly?: boolean }) => native().loadModel(file, options);
export const createContext = (model: NativeModel, options?: ContextOptions) => native().createContext(model, options);
/** Quantizes values (a whole number of blocks) to a GGUF tensor type, with the reference quantizers. */
export const quantize = (type: number, values: Float32Array) => native().quantize(type, values);
export const dequantize = (type: number, bytes: Uint8Array, count: number) => native().dequantize(type, bytes, count);
export const backends = (extraSearchPath?: string) => native().backends(extraSearchPath);
export const cpuInfo = () => native().cpuInfo();
