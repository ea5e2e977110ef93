// SmolLM2's vocabulary built straight from its tokenizer.json, the way llama.cpp's converter would
// write it to GGUF: tokens by id (added tokens included), merges in rank order, added special tokens
// as control tokens (other added tokens as user-defined), pre-tokenizer "smollm", BOS/EOS from config.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TokenType, type Vocab } from '../../src/engine/tokenizer/vocab.js';
import { sharedModelsDir } from './paths.js';

interface TokenizerJson {
  added_tokens: Array<{ id: number; content: string; special: boolean }>;
  model: { type: string; vocab: Record<string, number>; merges: Array<string | [string, string]> };
}

export function smollm2TokenizerDir(): string {
  return path.join(sharedModelsDir(), 'smollm2-135m-instruct-tokenizer');
}

export function smollm2Vocab(): Vocab {
  const dir = smollm2TokenizerDir();
  const json = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as {
    vocab_size: number;
    bos_token_id?: number;
    eos_token_id?: number;
    pad_token_id?: number;
  };
  if (json.model.type !== 'BPE') throw new Error(`expected a BPE tokenizer.json, got ${json.model.type}`);

  const size = Math.max(config.vocab_size, ...Object.values(json.model.vocab).map((id) => id + 1));
  const tokens: string[] = Array.from({ length: size }, (_, i) => `[PAD${i}]`);
  const tokenTypes = new Int32Array(size).fill(TokenType.UserDefined); // padding ids, as the converter marks them
  for (const [text, id] of Object.entries(json.model.vocab)) {
    tokens[id] = text;
    tokenTypes[id] = TokenType.Normal;
  }
  for (const added of json.added_tokens) {
    tokens[added.id] = added.content;
    tokenTypes[added.id] = added.special ? TokenType.Control : TokenType.UserDefined;
  }
  const merges = json.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));

  return {
    model: 'gpt2',
    pre: 'smollm',
    name: 'SmolLM2 135M Instruct',
    tokens,
    tokenTypes,
    merges,
    ...(config.bos_token_id !== undefined && { bosId: config.bos_token_id }),
    ...(config.eos_token_id !== undefined && { eosId: config.eos_token_id }),
    ...(config.pad_token_id !== undefined && { padId: config.pad_token_id }),
  };
}
