// The bytes each token stands for, as llama.cpp's token_to_piece.
import { byteDecode } from './byte-level.js';
import { Attr } from './token-attributes.js';
import type { TokenizerModel } from './vocab.js';

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

export class TokenPieces {
  private readonly cache: Array<Uint8Array | undefined>;

  constructor(
    private readonly model: TokenizerModel,
    private readonly tokens: readonly string[],
    private readonly attrs: Uint16Array,
  ) {
    this.cache = new Array(tokens.length);
  }

  /** Control and unknown tokens render as nothing unless `unparseSpecial`. */
  bytes(id: number, unparseSpecial: boolean): Uint8Array {
    const attr = this.attrs[id];
    if (attr === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.tokens.length})`);
    if (!unparseSpecial && attr & (Attr.Unknown | Attr.Control)) return EMPTY;
    let piece = this.cache[id];
    if (piece === undefined) this.cache[id] = piece = this.render(id, attr);
    return piece;
  }

  private render(id: number, attr: number): Uint8Array {
    const text = this.tokens[id]!;
    if (attr & (Attr.Unknown | Attr.Control | Attr.UserDefined)) return utf8.encode(text);
    if (attr & Attr.Normal) return this.model === 'llama' ? utf8.encode(text.replaceAll('\u2581', ' ')) : byteDecode(text);
    if (attr & Attr.Byte) return Uint8Array.of(parseInt(text.substring(3, 5), 16));
    return EMPTY; // unused and undefined tokens render as nothing
  }
}
