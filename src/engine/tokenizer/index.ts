// The tokenizer: text ⇄ token ids, matching llama.cpp's llama_tokenize / llama_detokenize.
import { BpeEncoder } from './bpe.js';
import { detokenizeIds, type DetokenizeOptions, type DetokenizeRules } from './detokenize.js';
import { TokenPieces } from './pieces.js';
import { preTokenizerFor } from './pre-tokenizers.js';
import { partitionSpecialTokens } from './special-partition.js';
import { SpmEncoder } from './spm.js';
import { Attr, checkAddSpecial, resolveTokens, type SpecialIds } from './token-attributes.js';
import { VocabError, type Vocab } from './vocab.js';

export { vocabFromGgufMetadata, VocabError, TokenType, type Vocab, type TokenizerModel } from './vocab.js';
export { cleanUpSpaces, type DetokenizeOptions } from './detokenize.js';
export { supportedPreTokenizers } from './pre-tokenizers.js';

export interface TokenizeOptions {
  /** Add BOS/EOS as the vocabulary asks (tokenizer.ggml.add_bos_token / add_eos_token). Default false. */
  addSpecial?: boolean;
  /** Recognize control tokens written in the text (e.g. "<|im_start|>") as single ids. Default false. */
  parseSpecial?: boolean;
}

export interface TokenBytesOptions {
  /** Render control and unknown tokens as their text. Default false: they render as nothing. */
  unparseSpecial?: boolean;
}

export interface Tokenizer {
  readonly model: Vocab['model'];
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly eotId: number | undefined;
  readonly unkId: number | undefined;
  readonly padId: number | undefined;
  readonly specialIds: Readonly<SpecialIds>;
  /** Ids that end generation (EOS, EOT, and llama.cpp's list of end-of-turn texts), ascending. */
  readonly endOfGenerationIds: readonly number[];
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** Rules the incremental detokenizer follows to stay identical to detokenize(). */
  readonly detokenizeRules: Readonly<DetokenizeRules>;
  tokenize(text: string, options?: TokenizeOptions): number[];
  detokenize(ids: ArrayLike<number>, options?: DetokenizeOptions): string;
  /** The bytes one token stands for (llama.cpp's token_to_piece, without lstrip). */
  tokenToBytes(id: number, options?: TokenBytesOptions): Uint8Array;
  /** The token's text as stored in the vocabulary (byte-level or ▁-escaped spelling). */
  tokenText(id: number): string;
  isEog(id: number): boolean;
  /** Control or unknown: rendered as nothing by default, matched in text only with parseSpecial. */
  isSpecial(id: number): boolean;
}

export function createTokenizer(vocab: Vocab): Tokenizer {
  if (vocab.model !== 'llama' && vocab.model !== 'gpt2') throw new VocabError(`unsupported tokenizer model ${String(vocab.model)}`);
  const tokens = vocab.tokens.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t));
  const textToId = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (!textToId.has(t)) textToId.set(t, i);
  });

  const isSpm = vocab.model === 'llama';
  const pre = isSpm ? undefined : preTokenizerFor(vocab.pre);
  const { attrs, ids, eog, specialsByLength } = resolveTokens(vocab, tokens, textToId, pre?.noDefaultBos);

  const addBos = vocab.addBos ?? (isSpm || (pre?.addBos ?? false));
  const addEos = vocab.addEos ?? false;
  const addSpacePrefix = vocab.addSpacePrefix ?? isSpm;
  checkAddSpecial(addBos, addEos, ids);

  const spm = isSpm ? new SpmEncoder(textToId, vocab.scores, ids.unk) : undefined;
  const bpe = pre ? new BpeEncoder(textToId, vocab.merges ?? [], pre) : undefined;
  const pieces = new TokenPieces(vocab.model, tokens, attrs);
  const rules: DetokenizeRules = {
    addBos, addEos, bosId: ids.bos, eosId: ids.eos, addSpacePrefix, cleanSpaces: pre?.cleanSpaces ?? false,
  };

  const tokenize = (text: string, options: TokenizeOptions = {}): number[] => {
    const addSpecial = options.addSpecial ?? false;
    const fragments = partitionSpecialTokens(wellFormed(text), options.parseSpecial ?? false, specialsByLength, tokens, attrs);
    const out: number[] = [];
    if (addSpecial && addBos) out.push(ids.bos!);
    let prevSpecial = true; // SPM: a space is prefixed to text at the start and after special tokens
    for (const fragment of fragments) {
      if (typeof fragment === 'number') {
        out.push(fragment);
        prevSpecial = true;
      } else if (spm) {
        const text = addSpacePrefix && prevSpecial ? ` ${fragment}` : fragment;
        spm.encode(text.replaceAll(' ', '\u2581'), out);
        prevSpecial = false;
      } else {
        bpe!.encode(fragment, out);
      }
    }
    if (addSpecial && addEos) out.push(ids.eos!);
    return out;
  };

  const checkId = (id: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= tokens.length) throw new RangeError(`token id ${id} is outside the vocabulary (size ${tokens.length})`);
  };

  return {
    model: vocab.model,
    vocabSize: tokens.length,
    bosId: ids.bos,
    eosId: ids.eos,
    eotId: ids.eot,
    unkId: ids.unk,
    padId: ids.pad,
    specialIds: ids,
    endOfGenerationIds: [...eog].sort((a, b) => a - b),
    addBos,
    addEos,
    detokenizeRules: rules,
    tokenize,
    detokenize: (list, options) => detokenizeIds(list, pieces, rules, options),
    tokenToBytes: (id, options) => pieces.bytes(id, options?.unparseSpecial ?? false),
    tokenText: (id) => {
      checkId(id);
      return tokens[id]!;
    },
    isEog: (id) => eog.has(id),
    isSpecial: (id) => {
      checkId(id);
      return (attrs[id]! & (Attr.Control | Attr.Unknown)) !== 0;
    },
  };
}

// Lone surrogates become U+FFFD, which is what converting the text to UTF-8 does.
const LONE_SURROGATE = /\p{Cs}/gu;
function wellFormed(text: string): string {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}
