// The vocabulary a tokenizer is built from: the tokenizer.* keys of a GGUF file, as plain data.
// Fields left undefined take llama.cpp's defaults when the tokenizer is created (see special-tokens.ts).

export type TokenizerModel = 'llama' | 'gpt2';

/** `tokenizer.ggml.token_type` values. */
export const TokenType = {
  Undefined: 0,
  Normal: 1,
  Unknown: 2,
  Control: 3,
  UserDefined: 4,
  Unused: 5,
  Byte: 6,
} as const;

export interface Vocab {
  /** `tokenizer.ggml.model`: "llama" = SentencePiece (SPM), "gpt2" = byte-level BPE. */
  model: TokenizerModel;
  /** `tokenizer.ggml.pre`: names the BPE pre-tokenizer; undefined means llama.cpp's "default". */
  pre?: string;
  tokens: string[];
  scores?: Float32Array;
  tokenTypes?: Int32Array;
  /** BPE merges, "left right", in rank order. */
  merges?: string[];
  bosId?: number;
  eosId?: number;
  eotId?: number;
  eomId?: number;
  unkId?: number;
  sepId?: number;
  padId?: number;
  maskId?: number;
  fimPreId?: number;
  fimSufId?: number;
  fimMidId?: number;
  fimPadId?: number;
  fimRepId?: number;
  fimSepId?: number;
  addBos?: boolean;
  addEos?: boolean;
  addSep?: boolean;
  /** `tokenizer.ggml.add_space_prefix`. */
  addSpacePrefix?: boolean;
  /** `tokenizer.ggml.remove_extra_whitespaces` (read by llama.cpp; only its UGM tokenizer uses it). */
  removeExtraWhitespaces?: boolean;
  /** `general.name`: llama.cpp sets a few per-token attributes by model name (Phi-3 strips spaces after special tokens). */
  name?: string;
}

const SPECIAL_ID_KEYS: ReadonlyArray<[keyof Vocab, string]> = [
  ['bosId', 'bos_token_id'],
  ['eosId', 'eos_token_id'],
  ['eotId', 'eot_token_id'],
  ['eomId', 'eom_token_id'],
  ['unkId', 'unknown_token_id'],
  ['sepId', 'seperator_token_id'], // sic: the GGUF key is misspelled
  ['padId', 'padding_token_id'],
  ['maskId', 'mask_token_id'],
  ['fimPreId', 'fim_pre_token_id'],
  ['fimSufId', 'fim_suf_token_id'],
  ['fimMidId', 'fim_mid_token_id'],
  ['fimPadId', 'fim_pad_token_id'],
  ['fimRepId', 'fim_rep_token_id'],
  ['fimSepId', 'fim_sep_token_id'],
  // deprecated spellings of the FIM ids; they win when present, as in llama.cpp
  ['fimPreId', 'prefix_token_id'],
  ['fimSufId', 'suffix_token_id'],
  ['fimMidId', 'middle_token_id'],
];

export class VocabError extends Error {
  override name = 'VocabError';
}

/** Builds a Vocab from GGUF key/values (arrays may be JS arrays or typed arrays). */
export function vocabFromGgufMetadata(meta: Record<string, unknown>): Vocab {
  const model = meta['tokenizer.ggml.model'];
  if (typeof model !== 'string') throw new VocabError('GGUF has no tokenizer.ggml.model: the file carries no vocabulary');
  if (model !== 'llama' && model !== 'gpt2') throw new VocabError(`unsupported tokenizer model ${model}`);

  const tokens = stringArray(meta, 'tokenizer.ggml.tokens');
  if (!tokens) throw new VocabError('GGUF has no tokenizer.ggml.tokens');

  const vocab: Vocab = { model, tokens };
  const pre = meta['tokenizer.ggml.pre'];
  if (typeof pre === 'string') vocab.pre = pre;
  const name = meta['general.name'];
  if (typeof name === 'string') vocab.name = name;

  const scores = numberArray(meta, 'tokenizer.ggml.scores');
  if (scores) vocab.scores = scores instanceof Float32Array ? scores : Float32Array.from(scores);
  const types = numberArray(meta, 'tokenizer.ggml.token_type');
  if (types) vocab.tokenTypes = types instanceof Int32Array ? types : Int32Array.from(types);
  const merges = stringArray(meta, 'tokenizer.ggml.merges');
  if (merges) vocab.merges = merges;
  if (model === 'gpt2' && !merges) throw new VocabError('GGUF byte-level BPE vocabulary has no tokenizer.ggml.merges');

  for (const [field, key] of SPECIAL_ID_KEYS) {
    const id = integer(meta[`tokenizer.ggml.${key}`]);
    if (id !== undefined) (vocab as unknown as Record<string, number>)[field] = id;
  }
  const flags: ReadonlyArray<[keyof Vocab, string]> = [
    ['addBos', 'add_bos_token'],
    ['addEos', 'add_eos_token'],
    ['addSep', 'add_sep_token'],
    ['addSpacePrefix', 'add_space_prefix'],
    ['removeExtraWhitespaces', 'remove_extra_whitespaces'],
  ];
  for (const [field, key] of flags) {
    const v = meta[`tokenizer.ggml.${key}`];
    if (typeof v === 'boolean') (vocab as unknown as Record<string, boolean>)[field] = v;
  }
  return vocab;
}

function stringArray(meta: Record<string, unknown>, key: string): string[] | undefined {
  const v = meta[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new VocabError(`GGUF ${key} must be an array of strings`);
  return v as string[];
}

function numberArray(meta: Record<string, unknown>, key: string): ArrayLike<number> | undefined {
  const v = meta[key];
  if (v === undefined) return undefined;
  if (v instanceof Float32Array || v instanceof Int32Array || v instanceof Float64Array || v instanceof Uint32Array) return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  throw new VocabError(`GGUF ${key} must be a numeric array`);
}

function integer(v: unknown): number | undefined {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  return undefined;
}
