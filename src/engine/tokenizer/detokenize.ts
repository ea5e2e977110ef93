// Token ids back to text, as llama.cpp's llama_detokenize.
import type { TokenPieces } from './pieces.js';

export interface DetokenizeOptions {
  /** Drop a leading BOS / trailing EOS when the vocabulary adds them (llama.cpp's remove_special). Default false. */
  removeSpecial?: boolean;
  /** Render control and unknown tokens as their text (llama.cpp's unparse_special). Default false: they render as nothing. */
  unparseSpecial?: boolean;
  /**
   * Remove one leading space from the first token's piece. Default: the vocabulary's add_space_prefix
   * (true for SentencePiece), as llama_detokenize does; a leading BOS dropped by removeSpecial turns it off.
   * Pass false when the ids continue earlier text (tokens generated after a prompt).
   */
  stripLeadingSpace?: boolean;
  /** llama.cpp's clean_spaces (" ," → ",", " 's" → "'s", ...). Default: the pre-tokenizer's setting. */
  cleanSpaces?: boolean;
}

/** What detokenizing needs to know about the vocabulary. */
export interface DetokenizeRules {
  addBos: boolean;
  addEos: boolean;
  bosId: number | undefined;
  eosId: number | undefined;
  addSpacePrefix: boolean;
  cleanSpaces: boolean;
}

/**
 * llama.cpp's clean_spaces passes: drop the space before ? ! . , ; turn " ' " into "'"; drop the
 * space before 's 'm 're 've. All patterns are ASCII, so working on the decoded string is exact.
 */
export function cleanUpSpaces(text: string): string {
  return text
    .replace(/ (?=[?!.,])/g, '')
    .replace(/ ' /g, "'")
    .replace(/ (?='(?:[sm]|re|ve))/g, '');
}

export function newUtf8Decoder(): TextDecoder {
  return new TextDecoder('utf-8', { ignoreBOM: true }); // a leading U+FEFF is text, not a marker
}

export function detokenizeIds(
  ids: ArrayLike<number>,
  pieces: TokenPieces,
  rules: DetokenizeRules,
  options: DetokenizeOptions = {},
): string {
  const unparseSpecial = options.unparseSpecial ?? false;
  let strip = options.stripLeadingSpace ?? rules.addSpacePrefix;
  let begin = 0;
  let end = ids.length;
  if (options.removeSpecial && rules.addBos && end > 0 && ids[0] === rules.bosId) {
    strip = false;
    begin = 1;
  }
  if (options.removeSpecial && rules.addEos && end > begin && ids[end - 1] === rules.eosId) end--;

  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let i = begin; i < end; i++) {
    let piece = pieces.bytes(ids[i]!, unparseSpecial);
    if (strip && piece[0] === 0x20) piece = piece.subarray(1);
    strip = false;
    chunks.push(piece);
    total += piece.length;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  const text = newUtf8Decoder().decode(bytes);
  return (options.cleanSpaces ?? rules.cleanSpaces) ? cleanUpSpaces(text) : text;
}
