// BPE pre-tokenizers: the regex lists llama.cpp applies before BPE, selected by tokenizer.ggml.pre.
//
// Regexes are applied in order, each one to every piece the previous ones produced; the text between
// matches is kept as pieces of its own. Translation notes (llama.cpp runs these on a representation
// where every non-ASCII code point is collapsed to its category):
// - whitespace is llama.cpp's set (Unicode White_Space). Non-ASCII whitespace is folded to \v before
//   matching, as llama.cpp does, so `\s` here is written [\t-\r ] and never JS's \s (which differs:
//   it has U+FEFF and lacks U+0085).
// - the GPT-2 and Llama-3 patterns run in llama.cpp through hand-written splitters that also split
//   lone whitespace runs, hence the trailing `|\s+` on GPT2_PATTERN.
// - `(?i:'s|...)` is spelled out as `'[sS]|...`, as llama.cpp does.
import { VocabError } from './vocab.js';

const WS = '\\t-\\r ';
const S = `[${WS}]`;
const NOT_S = `[^${WS}]`;
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

const GPT2_PATTERN = `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|${S}+(?!${NOT_S})|${S}+`;
const WS_TAIL = `${S}*[\\r\\n]+|${S}+(?!${NOT_S})|${S}+`;
const LLAMA3_PATTERN = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${WS_TAIL}`;
const QWEN2_PATTERN = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${WS_TAIL}`;
const CJK = '[\\u4E00-\\u9FA5\\u0800-\\u4E00\\uAC00-\\uD7FF]+';
// Cased letters as DeepSeek-LLM's tokenizer.json lists them.
const DEEPSEEK_LETTERS =
  'A-Za-z\\u00B5\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u01BA\\u01BC-\\u01BF\\u01C4-\\u0293\\u0295-\\u02AF' +
  '\\u0370-\\u0373\\u0376\\u0377\\u037B-\\u037D\\u037F\\u0386\\u0388-\\u038A\\u038C\\u038E-\\u03A1\\u03A3-\\u03F5' +
  '\\u03F7-\\u0481\\u048A-\\u052F\\u0531-\\u0556\\u10A0-\\u10C5\\u13A0-\\u13F5\\u13F8-\\u13FD\\u1C90-\\u1CBA' +
  '\\u1CBD-\\u1CBF\\u1D00-\\u1D2B\\u1D6B-\\u1D77\\u1D79-\\u1D9A\\u1E00-\\u1F15\\u1F18-\\u1F1D\\u1F20-\\u1F45' +
  '\\u1F48-\\u1F4D\\u1F50-\\u1F57\\u1F59\\u1F5B\\u1F5D\\u1F5F-\\u1F7D\\u1F80-\\u1FB4\\u1FB6-\\u1FBC\\u1FBE' +
  '\\u1FC2-\\u1FC4\\u1FC6-\\u1FCC\\u1FD0-\\u1FD3\\u1FD6-\\u1FDB\\u1FE0-\\u1FEC\\u1FF2-\\u1FF4\\u1FF6-\\u1FFC' +
  '\\u2102\\u2107\\u210A-\\u2113\\u2115\\u2119-\\u211D\\u2124\\u2126\\u2128\\u212A-\\u212D\\u212F-\\u2134' +
  '\\u2139\\u213C-\\u213F\\u2145-\\u2149\\u214E\\u2183\\u2184\\u2C00-\\u2C7B\\u2C7E-\\u2CE4\\u2CEB-\\u2CEE' +
  '\\u2CF2\\u2CF3\\uA640-\\uA66D\\uA680-\\uA69B\\uA722-\\uA76F\\uA771-\\uA787\\uA78B-\\uA78E\\uAB70-\\uABBF' +
  '\\uFB00-\\uFB06\\uFB13-\\uFB17\\uFF21-\\uFF3A\\uFF41-\\uFF5A\\u{10400}-\\u{1044F}\\u{104B0}-\\u{104D3}' +
  '\\u{104D8}-\\u{104FB}\\u{10C80}-\\u{10CB2}\\u{10CC0}-\\u{10CF2}\\u{118A0}-\\u{118DF}\\u{1E900}-\\u{1E943}';
const PORO_PATTERN = ` ?[^(${WS}|.,!?\\u2026\\u3002\\uFF0C\\u3001\\u0964\\u06D4\\u060C)]+`;
const CASED_WORDS = (extra: string) =>
  `[^\\r\\n\\p{L}\\p{N}]?(?:(?=\\p{L})[^a-z])*(?:(?=\\p{L})[^A-Z])+${extra}|` +
  `[^\\r\\n\\p{L}\\p{N}]?(?:(?=\\p{L})[^a-z])+(?:(?=\\p{L})[^A-Z])*${extra}`;

export interface PreTokenizer {
  regexes: RegExp[];
  /** llama.cpp's clean_spaces: detokenize removes the spaces a GPT-2-style decoder would have added. */
  cleanSpaces: boolean;
  /** A word that is itself a token is not split by merges (Llama 3 style). */
  ignoreMerges: boolean;
  /** Overrides the BPE default of not adding BOS (metadata still wins). */
  addBos?: boolean;
  /** This family has no default BOS id. */
  noDefaultBos?: boolean;
}

interface Row {
  names: string[];
  patterns: string[];
  cleanSpaces?: boolean;
  ignoreMerges?: boolean;
  addBos?: boolean;
  noDefaultBos?: boolean;
}

const ROWS: Row[] = [
  { names: ['default'], patterns: ['[\\p{P}$+<=>^~|]+', GPT2_PATTERN, '\\p{N}+', '[0-9][0-9][0-9]'] },
  {
    names: ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'],
    patterns: [LLAMA3_PATTERN], ignoreMerges: true, addBos: true,
  },
  { names: ['dbrx', 'smaug-bpe'], patterns: [LLAMA3_PATTERN] },
  {
    names: ['jais-2'],
    patterns: [
      `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|` +
        [512, 256, 128, 64, 32, 16, 8, 4].map((n) => `${S}{${n}}(?!${NOT_S})|`).join('') + `${S}{1,2}(?!${NOT_S})|${S}{1}`,
    ],
  },
  {
    names: ['deepseek-llm'],
    patterns: ['[\\r\\n]', `${S}?[${DEEPSEEK_LETTERS}]+`, `${S}?[!-/:-~\\uFF01-\\uFF0F\\uFF1A-\\uFF5E\\u2018-\\u201F\\u3000-\\u3002]+`, `${S}+$`, CJK, '\\p{N}+'],
    cleanSpaces: false,
  },
  { names: ['deepseek-coder'], patterns: ['[\\r\\n]', `${S}?\\p{L}+`, `${S}?\\p{P}+`, CJK, '\\p{N}'], cleanSpaces: false },
  { names: ['falcon'], patterns: ['[\\p{P}$+<=>^~|`]+', GPT2_PATTERN, '[0-9][0-9][0-9]'] },
  {
    names: ['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum', 'modern-bert',
      'jina-v1-en', 'jina-v2-code', 'roberta-bpe', 'mpt', 'olmo', 'jais', 'exaone4'],
    patterns: [GPT2_PATTERN],
  },
  { names: ['trillion', 'granite-docling'], patterns: [GPT2_PATTERN], cleanSpaces: false },
  { names: ['starcoder', 'refact', 'codeshell', 'exaone', 'minerva-7b', 'mellum2'], patterns: ['\\p{N}', GPT2_PATTERN] },
  { names: ['command-r', 'smollm'], patterns: ['\\p{N}', GPT2_PATTERN], cleanSpaces: false },
  { names: ['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'hunyuan', 'solar-open', 'grok-2'], patterns: [QWEN2_PATTERN], cleanSpaces: false },
  { names: ['stablelm2', 'megrez'], patterns: [QWEN2_PATTERN] },
  {
    names: ['qwen35'],
    patterns: [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^${WS}\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|${WS_TAIL}`],
    cleanSpaces: false,
  },
  { names: ['ufakzeka'], patterns: [`[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${WS_TAIL}`], cleanSpaces: false },
  { names: ['laguna'], patterns: ['[^\\n]+|[\\n]+', QWEN2_PATTERN], cleanSpaces: false },
  {
    names: ['minicpm5'],
    patterns: ['\\p{N}{1,3}', `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${WS_TAIL}`],
    ignoreMerges: true,
  },
  { names: ['poro-chat'], patterns: [PORO_PATTERN], cleanSpaces: false },
  { names: ['bloom', 'gpt3-finnish'], patterns: [PORO_PATTERN] },
  { names: ['viking'], patterns: [PORO_PATTERN, '\\p{N}'], cleanSpaces: false },
  { names: ['glm4', 'chatglm-bpe'], patterns: [LLAMA3_PATTERN], noDefaultBos: true },
  {
    names: ['tekken'],
    patterns: [`${CASED_WORDS('')}|\\p{N}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n/]*|${WS_TAIL}`],
    cleanSpaces: false, ignoreMerges: true, addBos: true,
  },
  {
    names: ['gpt-4o', 'llama4', 'kanana2', 'talkie', 'minimax-m2'],
    patterns: [`${CASED_WORDS(`${CONTRACTIONS}?`)}|\\p{N}{1,3}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n/]*|${WS_TAIL}`],
    cleanSpaces: false,
  },
  {
    names: ['chameleon'],
    patterns: ['<sentinel:[0-9]+>', '(?:IMGIMG)(?:[A-I]{1,4})Z', '(?:[\\t\\n]|    |  )', '\\p{N}', '[\\p{P}!-/:-@\\[-`{-~]', GPT2_PATTERN],
    cleanSpaces: false, addBos: true,
  },
  {
    names: ['seed-coder'],
    patterns: [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^${WS}\\p{L}\\p{N}\\r\\n]+|${WS_TAIL}`],
    cleanSpaces: false,
  },
  {
    names: ['bailingmoe', 'bailingmoe2', 'llada-moe'],
    patterns: [`'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]|${S}+(?!${NOT_S})|${S}+`],
    cleanSpaces: false,
  },
  {
    names: ['exaone-moe'],
    patterns: [`${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n/]?|${S}*[\\r\\n]|${S}+(?!${NOT_S})|${S}+`],
  },
];

const BY_NAME = new Map<string, Row>();
for (const row of ROWS) for (const name of row.names) BY_NAME.set(name, row);

const compiled = new Map<string, PreTokenizer>();

/** The pre-tokenizer for `tokenizer.ggml.pre` (undefined: llama.cpp's default). */
export function preTokenizerFor(pre: string | undefined): PreTokenizer {
  const name = pre === undefined || pre === '' ? 'default' : pre;
  let result = compiled.get(name);
  if (result) return result;
  const row = BY_NAME.get(name);
  if (!row) throw new VocabError(`unsupported pre-tokenizer "${name}" (tokenizer.ggml.pre)`);
  result = {
    regexes: row.patterns.map((p) => new RegExp(p, 'gu')),
    cleanSpaces: row.cleanSpaces ?? true,
    ignoreMerges: row.ignoreMerges ?? false,
    ...(row.addBos !== undefined && { addBos: row.addBos }),
    ...(row.noDefaultBos !== undefined && { noDefaultBos: row.noDefaultBos }),
  };
  compiled.set(name, result);
  return result;
}

export function supportedPreTokenizers(): string[] {
  return [...BY_NAME.keys()];
}

const NON_ASCII_WHITESPACE = /[\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/g;

/** Splits text into the words BPE runs on. */
export function preTokenize(text: string, regexes: readonly RegExp[]): string[] {
  // Every folded character is a single UTF-16 unit, so offsets in `folded` are offsets in `text`.
  const folded = text.replace(NON_ASCII_WHITESPACE, '\v');
  let bounds = [0, folded.length];
  for (const re of regexes) {
    const next: number[] = [0];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const start = bounds[i]!, end = bounds[i + 1]!;
      const piece = folded.slice(start, end);
      let last = 0;
      re.lastIndex = 0;
      for (let m = re.exec(piece); m !== null; m = re.exec(piece)) {
        if (m[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        if (m.index > last) next.push(start + m.index);
        last = m.index + m[0].length;
        next.push(start + last);
      }
      if (last < piece.length) next.push(end);
    }
    bounds = next;
  }
  const words: string[] = new Array(bounds.length - 1);
  for (let i = 0; i + 1 < bounds.length; i++) words[i] = text.slice(bounds[i], bounds[i + 1]);
  return words;
}
