// SentencePiece BPE as llama.cpp's llm_tokenizer_spm_session: start from single characters, merge
// the adjacent pair whose concatenation is the highest-scoring token (leftmost on ties) until none
// is left, then spell any symbol that is not a token as <0xXX> byte tokens.
import { MinHeap } from './min-heap.js';
import { VocabError } from './vocab.js';

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

const bigramBefore = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);
const utf8 = new TextEncoder();

export class SpmEncoder {
  private readonly byteIds: Array<number | undefined> = new Array(256);
  private readonly maxTokenLength: number;

  constructor(
    private readonly textToId: ReadonlyMap<string, number>,
    private readonly scores: Float32Array | undefined,
    private readonly unkId: number | undefined,
  ) {
    let longest = 0;
    for (const text of textToId.keys()) longest = Math.max(longest, text.length);
    this.maxTokenLength = longest;
    for (let b = 0; b < 256; b++) {
      const hex = b.toString(16).toUpperCase().padStart(2, '0');
      // llama.cpp falls back to the raw one-byte text when the vocabulary has no <0xXX> token.
      this.byteIds[b] = textToId.get(`<0x${hex}>`) ?? (b < 0x80 ? textToId.get(String.fromCharCode(b)) : undefined);
    }
  }

  /** Encodes text in which spaces are already escaped as U+2581. */
  encode(text: string, out: number[]): void {
    // Symbols start as single code points (a surrogate pair is one symbol).
    const max = text.length;
    const start = new Int32Array(max);
    let n = 0;
    for (let i = 0; i < max; i++) {
      start[n++] = i;
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < max) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++;
      }
    }
    if (n === 0) return;
    const len = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      len[i] = (i + 1 < n ? start[i + 1]! : max) - start[i]!;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const queue = new MinHeap<Bigram>(bigramBefore);
    const addBigram = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const size = len[left]! + len[right]!;
      if (size > this.maxTokenLength) return;
      const id = this.textToId.get(text.substr(start[left]!, size));
      if (id === undefined) return;
      queue.push({ left, right, score: this.scores ? this.scores[id]! : 0, size });
    };
    for (let i = 1; i < n; i++) addBigram(i - 1, i);

    for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
      const { left, right } = b;
      if (len[left] === 0 || len[right] === 0 || len[left]! + len[right]! !== b.size) continue;
      len[left]! += len[right]!;
      len[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      addBigram(prev[left]!, left);
      addBigram(left, next[left]!);
    }

    for (let i = 0; i !== -1; i = next[i]!) {
      const symbol = text.substr(start[i]!, len[i]!);
      const id = this.textToId.get(symbol);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const byte of utf8.encode(symbol)) {
        const byteId = this.byteIds[byte] ?? this.unkId;
        if (byteId === undefined) throw new VocabError(`vocabulary has no token for byte 0x${byte.toString(16)}`);
        out.push(byteId);
      }
    }
  }
}
