// GPT-2's byte-level alphabet: every byte is shown as a printable character, so that BPE runs on
// text. Printable Latin-1 bytes stand for themselves; the others are moved to U+0100 and up.

const BYTE_TO_CHAR: string[] = new Array(256);
const CHAR_TO_BYTE = new Map<number, number>();
{
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const cp = printable(b) ? b : next++;
    BYTE_TO_CHAR[b] = String.fromCharCode(cp);
    CHAR_TO_BYTE.set(cp, b);
  }
}

/** The byte-level spelling of `text`'s UTF-8 bytes. */
export function byteEncode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x80) {
      out += BYTE_TO_CHAR[cp];
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogate: what UTF-8 encoding makes of it
    if (cp < 0x800) {
      out += BYTE_TO_CHAR[0xc0 | (cp >> 6)]! + BYTE_TO_CHAR[0x80 | (cp & 0x3f)]!;
    } else if (cp < 0x10000) {
      out += BYTE_TO_CHAR[0xe0 | (cp >> 12)]! + BYTE_TO_CHAR[0x80 | ((cp >> 6) & 0x3f)]! + BYTE_TO_CHAR[0x80 | (cp & 0x3f)]!;
    } else {
      out +=
        BYTE_TO_CHAR[0xf0 | (cp >> 18)]! +
        BYTE_TO_CHAR[0x80 | ((cp >> 12) & 0x3f)]! +
        BYTE_TO_CHAR[0x80 | ((cp >> 6) & 0x3f)]! +
        BYTE_TO_CHAR[0x80 | (cp & 0x3f)]!;
    }
  }
  return out;
}

/**
 * The bytes a byte-level token stands for. A character outside the alphabet is rendered the way
 * llama.cpp renders it: "[UNK_BYTE_0x<hex of its UTF-8>" followed by the whole token text and "]".
 */
export function byteDecode(token: string): Uint8Array {
  const out: number[] = [];
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch.codePointAt(0)!);
    if (b !== undefined) {
      out.push(b);
      continue;
    }
    const utf8 = utf8Encoder.encode(ch);
    const marker = `[UNK_BYTE_0x${Array.from(utf8, (x) => x.toString(16).padStart(2, '0')).join('')}${token}]`;
    out.push(...utf8Encoder.encode(marker));
  }
  return Uint8Array.from(out);
}

const utf8Encoder = new TextEncoder();
