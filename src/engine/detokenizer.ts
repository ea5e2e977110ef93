// Incremental detokenizer: feed token ids one at a time, get text deltas back. Deltas never split a
// UTF-8 character (incomplete bytes wait for the token that completes them) and, joined with
// flush(), equal tokenizer.detokenize(allIds, options) for the same options.
// For tokens generated after a prompt pass { stripLeadingSpace: false }: the defaults treat the first
// pushed token as the start of a text, so a SentencePiece model's first word would lose its space
// (llama.cpp's server renders generated tokens piece by piece, never stripping).
import type { DetokenizeOptions, Tokenizer } from './tokenizer/index.js';
import { cleanUpSpaces, newUtf8Decoder } from './tokenizer/detokenize.js';

export class Detokenizer {
  private readonly decoder = newUtf8Decoder();
  private readonly unparseSpecial: boolean;
  private readonly removeSpecial: boolean;
  private readonly cleanSpaces: boolean;
  private stripLeadingSpace: boolean;
  private isFirst = true;
  private heldEos = 0;
  /** Decoded text that clean-up-spaces could still change, waiting for what follows. */
  private heldText = '';

  constructor(
    private readonly tokenizer: Tokenizer,
    options: DetokenizeOptions = {},
  ) {
    const rules = tokenizer.detokenizeRules;
    this.unparseSpecial = options.unparseSpecial ?? false;
    this.removeSpecial = options.removeSpecial ?? false;
    this.cleanSpaces = options.cleanSpaces ?? rules.cleanSpaces;
    this.stripLeadingSpace = options.stripLeadingSpace ?? rules.addSpacePrefix;
  }

  /** Adds one token; returns the text that is now final (possibly ''). */
  push(id: number): string {
    const rules = this.tokenizer.detokenizeRules;
    if (this.isFirst && this.removeSpecial && rules.addBos && id === rules.bosId) {
      this.isFirst = false;
      this.stripLeadingSpace = false;
      return '';
    }
    this.isFirst = false;
    // A trailing EOS is dropped with removeSpecial; until we know it is trailing, it waits.
    if (this.removeSpecial && rules.addEos && id === rules.eosId) {
      this.heldEos++;
      return '';
    }
    let text = '';
    for (; this.heldEos > 0; this.heldEos--) text += this.decodePiece(rules.eosId!);
    text += this.decodePiece(id);
    return this.release(text, false);
  }

  /** Ends the stream: returns everything held back (incomplete UTF-8 becomes U+FFFD). */
  flush(): string {
    let text = '';
    // All held EOS tokens but the last are not trailing.
    for (; this.heldEos > 1; this.heldEos--) text += this.decodePiece(this.tokenizer.detokenizeRules.eosId!);
    this.heldEos = 0;
    text += this.decoder.decode();
    return this.release(text, true);
  }

  private decodePiece(id: number): string {
    let piece = this.tokenizer.tokenToBytes(id, { unparseSpecial: this.unparseSpecial });
    if (this.stripLeadingSpace && piece[0] === 0x20) piece = piece.subarray(1);
    this.stripLeadingSpace = false;
    return this.decoder.decode(piece, { stream: true });
  }

  private release(text: string, final: boolean): string {
    if (!this.cleanSpaces) return text;
    const pending = this.heldText + text;
    const cut = final ? pending.length : lastSafeCut(pending);
    this.heldText = pending.slice(cut);
    return cleanUpSpaces(pending.slice(0, cut));
  }
}

/**
 * The longest prefix whose cleaned form cannot change with what follows. Every clean-up pattern
 * (" ?", " ' ", " 're", and " ' s" becoming " 's" then "'s") starts with a space and continues with an
 * apostrophe or one character after it, so a cut is safe where the character before it is neither a
 * space nor an apostrophe and the one before that is not an apostrophe.
 */
function lastSafeCut(text: string): number {
  for (let p = text.length; p > 0; p--) {
    const c1 = text.charCodeAt(p - 1);
    if (c1 === 0x20 || c1 === 0x27 || (c1 >= 0xd800 && c1 <= 0xdbff)) continue; // never split a surrogate pair
    if (p >= 2 && text.charCodeAt(p - 2) === 0x27) continue;
    return p;
  }
  return 0;
}
