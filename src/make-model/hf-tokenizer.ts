// A Hugging Face byte-level BPE tokenizer (tokenizer.json + chat_template.jinja) → GGUF tokenizer metadata,
// the way llama.cpp's convert_hf_to_gguf.py writes it for SmolLM2.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gguf, GgufValueType, type GgufValue } from './gguf-writer.js';

// llama.cpp's token types (gguf-py TokenType).
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

// SmolLM2-Instruct's special tokens, from its tokenizer_config.json (not among the shared files).
const SPECIAL_TOKENS = { bos: '<|im_start|>', eos: '<|im_end|>', unk: '<|endoftext|>', pad: '<|im_end|>' };

interface TokenizerJson {
  added_tokens?: { id: number; content: string; special: boolean }[];
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
}

export interface HfVocabulary {
  tokens: string[];
  types: Int32Array;
  merges: string[];
  chatTemplate: string;
  realTokens: number; // ids from here on are fillers
}

/**
 * Reads the tokenizer and pads it to `vocabSize` with `[PAD<id>]` tokens of type UNUSED (as the converter does
 * for ids the tokenizer lacks): no merge produces them and they are not special, so no text ever maps to one.
 */
export function loadHfVocabulary(dir: string, vocabSize: number): HfVocabulary {
  for (const file of ['tokenizer.json', 'chat_template.jinja']) {
    if (!existsSync(join(dir, file))) throw new Error(`no ${file} in ${dir} (a tokenizer folder holds tokenizer.json and chat_template.jinja)`);
  }
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  if (json.model.type !== 'BPE') throw new Error(`${dir}/tokenizer.json: expected a BPE model, found ${json.model.type}`);
  const byId = new Map<number, string>();
  for (const [text, id] of Object.entries(json.model.vocab)) byId.set(id, text);
  const special = new Set<number>();
  for (const t of json.added_tokens ?? []) {
    byId.set(t.id, t.content);
    if (t.special) special.add(t.id);
  }
  let maxId = -1;
  for (const id of byId.keys()) maxId = Math.max(maxId, id);
  if (maxId >= vocabSize) throw new Error(`the tokenizer has ${maxId + 1} tokens, more than the shape's vocabulary of ${vocabSize}`);

  const tokens: string[] = new Array(vocabSize);
  const types = new Int32Array(vocabSize);
  const added = new Set((json.added_tokens ?? []).map((t) => t.id));
  for (let id = 0; id < vocabSize; id++) {
    const text = byId.get(id);
    if (text === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TokenType.UNUSED;
    } else {
      tokens[id] = text;
      types[id] = !added.has(id) ? TokenType.NORMAL : special.has(id) ? TokenType.CONTROL : TokenType.USER_DEFINED;
    }
  }
  const merges = json.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
  const chatTemplate = readFileSync(join(dir, 'chat_template.jinja'), 'utf8');
  return { tokens, types, merges, chatTemplate, realTokens: maxId + 1 };
}

export function tokenizerMetadata(vocab: HfVocabulary): [string, GgufValue][] {
  const idOf = (text: string) => {
    const id = vocab.tokens.indexOf(text);
    if (id < 0) throw new Error(`the tokenizer has no token ${text}`);
    return id;
  };
  return [
    ['tokenizer.ggml.model', gguf.str('gpt2')],
    ['tokenizer.ggml.pre', gguf.str('smollm')],
    ['tokenizer.ggml.tokens', gguf.array(GgufValueType.STRING, vocab.tokens)],
    ['tokenizer.ggml.token_type', gguf.array(GgufValueType.INT32, vocab.types)],
    ['tokenizer.ggml.merges', gguf.array(GgufValueType.STRING, vocab.merges)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(idOf(SPECIAL_TOKENS.bos))],
    ['tokenizer.ggml.eos_token_id', gguf.u32(idOf(SPECIAL_TOKENS.eos))],
    ['tokenizer.ggml.unknown_token_id', gguf.u32(idOf(SPECIAL_TOKENS.unk))],
    ['tokenizer.ggml.padding_token_id', gguf.u32(idOf(SPECIAL_TOKENS.pad))],
    // SmolLM2 prompts start with <|im_start|> from the chat template, never an automatic BOS.
    ['tokenizer.ggml.add_bos_token', gguf.bool(false)],
    ['tokenizer.chat_template', gguf.str(vocab.chatTemplate)],
  ];
}
