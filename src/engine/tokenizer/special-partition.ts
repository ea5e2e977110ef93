// Cuts special tokens out of raw text before it is tokenized, as llama.cpp's tokenizer_st_partition:
// special tokens are tried longest first, each over every text fragment left by the previous ones.
// User-defined tokens are always cut out; control and unknown tokens only when parsing specials.
import { Attr } from './token-attributes.js';

export type Fragment = string | number; // raw text, or a token id

const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

export function partitionSpecialTokens(
  text: string,
  parseSpecial: boolean,
  specialsByLength: readonly number[],
  tokens: readonly string[],
  attrs: Uint16Array,
): Fragment[] {
  let fragments: Fragment[] = text.length > 0 ? [text] : [];
  for (const id of specialsByLength) {
    const attr = attrs[id]!;
    if (!parseSpecial && attr & (Attr.Control | Attr.Unknown)) continue;
    const special = tokens[id]!;
    if (!fragments.some((f) => typeof f === 'string' && f.includes(special))) continue;

    const next: Fragment[] = [];
    for (const fragment of fragments) {
      if (typeof fragment !== 'string') {
        next.push(fragment);
        continue;
      }
      let pos = 0;
      for (let match = fragment.indexOf(special); match !== -1; match = fragment.indexOf(special, pos)) {
        let leftEnd = match;
        if (attr & Attr.Lstrip) while (leftEnd > pos && isSpace(fragment.charCodeAt(leftEnd - 1))) leftEnd--;
        if (leftEnd > pos) next.push(fragment.slice(pos, leftEnd));
        next.push(id);
        pos = match + special.length;
        if (attr & Attr.Rstrip) while (pos < fragment.length && isSpace(fragment.charCodeAt(pos))) pos++;
      }
      if (pos < fragment.length) next.push(fragment.slice(pos));
    }
    fragments = next;
  }
  return fragments;
}
