// Per-token attributes and special ids, resolved from a Vocab the way llama.cpp's vocab loader does:
// its defaults per tokenizer family, its detection of end-of-generation and FIM tokens by their text
// (which also promotes them to control tokens), and its per-model attribute tweaks.
import { TokenType, VocabError, type Vocab } from './vocab.js';

export const Attr = {
  Undefined: 0,
  Unknown: 1 << 0,
  Unused: 1 << 1,
  Normal: 1 << 2,
  Control: 1 << 3,
  UserDefined: 1 << 4,
  Byte: 1 << 5,
  Lstrip: 1 << 7,
  Rstrip: 1 << 8,
} as const;

export interface SpecialIds {
  bos?: number;
  eos?: number;
  eot?: number;
  eom?: number;
  unk?: number;
  sep?: number;
  pad?: number;
  mask?: number;
  fimPre?: number;
  fimSuf?: number;
  fimMid?: number;
  fimPad?: number;
  fimRep?: number;
  fimSep?: number;
}

export interface ResolvedTokens {
  attrs: Uint16Array;
  ids: SpecialIds;
  eog: Set<number>;
  /** Control, user-defined and unknown tokens, longest text first: the order special tokens are matched in text. */
  specialsByLength: number[];
}

// In priority order. llama.cpp takes the first match in its hash map's iteration order, which is
// unspecified (it differs between C++ standard libraries); we take the first listed text instead, so
// a real end-of-turn marker wins over a generic end-of-text. Either way both are end-of-generation.
const EOT_TEXTS = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>',
  '<EOT>', '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>',
];
const EOG_TEXTS = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>',
  '<end_of_turn>', '<|endoftext|>', '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]',
  '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>', '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
]);
const DETECTED_BY_TEXT: ReadonlyArray<[keyof SpecialIds, readonly string[]]> = [
  ['eot', EOT_TEXTS],
  ['eom', ['<|eom_id|>']],
  ['fimPre', ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>']],
  ['fimSuf', ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>']],
  ['fimMid', ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>']],
  ['fimPad', ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]']],
  ['fimRep', ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>']],
  ['fimSep', ['<|file_sep|>']],
];
// gpt-oss: llama.cpp always renders these, whatever the file says.
const ALWAYS_RENDERED = new Set(['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>']);

function attrFromType(type: number): number {
  switch (type) {
    case TokenType.Normal: return Attr.Normal;
    case TokenType.Unknown: return Attr.Unknown;
    case TokenType.Control: return Attr.Control;
    case TokenType.UserDefined: return Attr.UserDefined;
    case TokenType.Unused: return Attr.Unused;
    case TokenType.Byte: return Attr.Byte;
    default: return Attr.Undefined;
  }
}

/**
 * `tokens` is the vocabulary's token list with empty texts replaced, as the tokenizer uses it.
 * `noDefaultBos`: the pre-tokenizer's family has no default BOS id (GLM-4).
 */
export function resolveTokens(
  vocab: Vocab,
  tokens: readonly string[],
  textToId: ReadonlyMap<string, number>,
  noDefaultBos = false,
): ResolvedTokens {
  const n = tokens.length;
  const attrs = new Uint16Array(n);
  for (let i = 0; i < n; i++) attrs[i] = vocab.tokenTypes ? attrFromType(vocab.tokenTypes[i]!) : Attr.Normal;

  const ids = defaultIds(vocab.model, n);
  if (noDefaultBos) delete ids.bos;
  const given: Array<[keyof SpecialIds, number | undefined]> = [
    ['bos', vocab.bosId], ['eos', vocab.eosId], ['eot', vocab.eotId], ['eom', vocab.eomId],
    ['unk', vocab.unkId], ['sep', vocab.sepId], ['pad', vocab.padId], ['mask', vocab.maskId],
    ['fimPre', vocab.fimPreId], ['fimSuf', vocab.fimSufId], ['fimMid', vocab.fimMidId],
    ['fimPad', vocab.fimPadId], ['fimRep', vocab.fimRepId], ['fimSep', vocab.fimSepId],
  ];
  // An id outside the vocabulary (e.g. 0xFFFFFFFF for "none") keeps the default, like llama.cpp.
  for (const [key, id] of given) if (id !== undefined && id >= 0 && id < n) ids[key] = id;

  for (const [key, texts] of DETECTED_BY_TEXT) {
    if (ids[key] !== undefined) continue;
    const id = texts.map((t) => textToId.get(t)).find((i) => i !== undefined);
    if (id === undefined) continue;
    ids[key] = id;
    attrs[id]! |= Attr.Control;
  }

  const eog = new Set<number>();
  for (const id of [ids.fimPad, ids.fimRep, ids.fimSep]) if (id !== undefined) eog.add(id);
  for (const text of EOG_TEXTS) {
    const id = textToId.get(text);
    if (id === undefined) continue;
    eog.add(id);
    attrs[id]! |= Attr.Control;
  }
  for (const text of ALWAYS_RENDERED) {
    const id = textToId.get(text);
    if (id !== undefined) attrs[id] = Attr.UserDefined;
  }
  for (const id of [ids.eos, ids.eot, ids.eom]) if (id !== undefined) eog.add(id);
  dropHarmonyEnd(tokens, eog, attrs);

  const specialsByLength: number[] = [];
  for (let id = 0; id < n; id++) {
    if (attrs[id]! & (Attr.Control | Attr.UserDefined | Attr.Unknown)) specialsByLength.push(id);
  }
  // llama.cpp compares lengths in UTF-8 bytes; ties (unordered there) go by id here.
  const bytes = new Map(specialsByLength.map((id) => [id, Buffer.byteLength(tokens[id]!, 'utf8')]));
  specialsByLength.sort((a, b) => bytes.get(b)! - bytes.get(a)! || a - b);

  applyModelSpecificAttrs(vocab, attrs, specialsByLength, textToId);
  return { attrs, ids, eog, specialsByLength };
}

function defaultIds(model: Vocab['model'], n: number): SpecialIds {
  const ids: SpecialIds = model === 'llama' ? { bos: 1, eos: 2, unk: 0 } : { bos: 11, eos: 11 };
  for (const key of Object.keys(ids) as Array<keyof SpecialIds>) if (ids[key]! >= n) delete ids[key];
  return ids;
}

// o200k_harmony and solar-open use <|end|> between turns, not to end generation.
function dropHarmonyEnd(tokens: readonly string[], eog: Set<number>, attrs: Uint16Array): void {
  const texts = new Map<string, number>();
  for (const id of eog) texts.set(tokens[id]!, id);
  const end = texts.get('<|end|>');
  if (end === undefined) return;
  const hasCall = texts.has('<|call|>') || texts.has('<|calls|>');
  if ((texts.has('<|return|>') && hasCall) || (hasCall && texts.has('<|flush|>'))) {
    eog.delete(end);
    attrs[end] = Attr.UserDefined;
  }
}

function applyModelSpecificAttrs(
  vocab: Vocab,
  attrs: Uint16Array,
  specials: readonly number[],
  textToId: ReadonlyMap<string, number>,
): void {
  const name = (vocab.name ?? '').toLowerCase();
  const setAttr = (text: string, flag: number, on: boolean) => {
    const id = textToId.get(text);
    if (id === undefined) return;
    attrs[id] = on ? attrs[id]! | flag : attrs[id]! & ~flag;
  };
  const pre = vocab.pre ?? '';
  if (['jina-v2-de', 'jina-v2-es', 'jina-v2-code'].some((p) => pre.includes(p))) {
    setAttr('<mask>', Attr.Lstrip, true);
  } else if (name.includes('phi-3') || name.includes('phi3')) {
    for (const id of specials) attrs[id]! |= Attr.Rstrip;
    setAttr('</s>', Attr.Rstrip, true);
    for (const t of ['<unk>', '<s>', '<|endoftext|>']) setAttr(t, Attr.Rstrip, false);
  } else if (name.includes('modern-bert')) {
    setAttr('[MASK]', Attr.Lstrip, true);
  }
}

export function checkAddSpecial(addBos: boolean, addEos: boolean, ids: SpecialIds): void {
  if (addBos && ids.bos === undefined) throw new VocabError('tokenizer.ggml.add_bos_token is true, but the vocabulary has no BOS token');
  if (addEos && ids.eos === undefined) throw new VocabError('tokenizer.ggml.add_eos_token is true, but the vocabulary has no EOS token');
}
