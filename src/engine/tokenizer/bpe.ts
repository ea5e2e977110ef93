// Byte-level BPE (GPT-2 family), as llama.cpp's llm_tokenizer_bpe_session: each pre-tokenized word
// is spelled in the byte-level alphabet, then adjacent symbols are merged lowest merge rank first
// (leftmost on ties) until no listed merge applies.
import { byteEncode } from './byte-level.js';
import { MinHeap } from './min-heap.js';
import { preTokenize, type PreTokenizer } from './pre-tokenizers.js';

interface Bigram {
  left: number;
  right: number;
  rank: number;
  text: string;
}

const bigramBefore = (a: Bigram, b: Bigram) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

const WORD_CACHE_LIMIT = 50_000;

export class BpeEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, readonly number[]>();

  constructor(
    private readonly textToId: ReadonlyMap<string, number>,
    merges: readonly string[],
    private readonly pre: PreTokenizer,
  ) {
    merges.forEach((merge, rank) => {
      // llama.cpp splits at the first space after the first character; the key keeps that shape.
      const cut = merge.indexOf(' ', 1);
      const key = cut < 0 ? ' ' : merge;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
  }

  encode(text: string, out: number[]): void {
    for (const word of preTokenize(text, this.pre.regexes)) {
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.encodeWord(byteEncode(word));
        if (this.cache.size >= WORD_CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private encodeWord(word: string): number[] {
    if (this.pre.ignoreMerges) {
      const whole = this.textToId.get(word);
      if (whole !== undefined) return [whole];
    }
    // Symbols are the word's characters (one UTF-16 unit each in the byte-level alphabet).
    const n = word.length;
    const len = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      len[i] = 1;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const text = (i: number) => word.substr(i, len[i]!);
    const queue = new MinHeap<Bigram>(bigramBefore);
    const addBigram = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const l = text(left), r = text(right);
      const rank = this.ranks.get(`${l} ${r}`);
      if (rank !== undefined) queue.push({ left, right, rank, text: l + r });
    };
    for (let i = 1; i < n; i++) addBigram(i - 1, i);

    for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
      const { left, right } = b;
      if (len[left] === 0 || len[right] === 0) continue;
      if (text(left) + text(right) !== b.text) continue; // stale: a neighbour changed since it was queued
      len[left]! += len[right]!;
      len[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      addBigram(prev[left]!, left);
      addBigram(left, next[left]!);
    }

    const ids: number[] = [];
    for (let i = n > 0 ? 0 : -1; i !== -1; i = next[i]!) {
      const symbol = text(i);
      const id = this.textToId.get(symbol);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      // llama.cpp looks each byte of the symbol up as a one-byte token and drops the misses;
      // only ASCII characters can be one-byte tokens.
      for (const ch of symbol) {
        const byteId = ch.charCodeAt(0) < 0x80 ? this.textToId.get(ch) : undefined;
        if (byteId !== undefined) ids.push(byteId);
      }
    }
    return ids;
  }
}
