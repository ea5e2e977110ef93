// A deterministic corpus of strings that stress tokenizers: scripts, emoji, code, whitespace runs,
// numbers, contractions, special-token texts, control characters, very long inputs.

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    // mulberry32
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIXED: string[] = [
  '', ' ', '  ', '   ', '\t', '\n', '\n\n', '\n\n\n', '\t\n', '\r\n', ' \r\n \r\n', 'Hello world', ' Hello world',
  'Hello World!', 'Hello, world!', "I'm sure you're right, it's what we've done; they'll say I'd go.",
  "I'M SURE YOU'RE RIGHT, IT'S WHAT WE'VE DONE; THEY'LL SAY I'D GO.", "y'all can't won't shouldn't o'clock rock'n'roll",
  "'s 't 're 've 'm 'll 'd", " ' era", "He said 'hello' and 'S 'T 'Re 'VE 'M 'Ll 'D",
  '3', '33', '333', '3333', '33333', '333333', '3333333', '12345678901234567890', '3.14159 2,718 1e-10 0x1F 0b1010 1_000_000',
  '٣٤٥ ١٢ 五六 ⅣⅫ ½ ² ₃ ①②', '   Hello\n    Hello', 'w048 7tuijk dsdfhu', 'нещо на Български',
  'កាន់តែពិសេសអាចខលចេញ', '🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ (only emoji that has its own token)',
  'Hello, y\'all! How are you 😁 ?我想在apple工作1314151天～', 'ied 4 ½ months', 'Führer', 'Ελληνικά γράμματα και τόνοι: ά έ ή ί ό ύ ώ',
  'العربية: مرحبا بالعالم، كيف حالك؟', 'עברית: שלום עולם', 'हिन्दी: नमस्ते दुनिया', 'ภาษาไทย: สวัสดีชาวโลก', '한국어: 안녕하세요 세계',
  '日本語: こんにちは世界、カタカナ', '中文：你好，世界！这是一个测试。', 'Tiếng Việt: Xin chào thế giới', 'Ք Ա Հ ჯ ᏣᎳᎩ ⰀⰁ 𐐀𐐁',
  'e\u0301 a\u0308 n\u0303 (combining marks)', 'ﬁ ﬂ ﬀ Ａｂｃ１２３ ！？', '\u00a0nbsp\u00a0 \u2003em\u2003 \u3000ideographic\u3000 \u202fnarrow',
  '\u0085next line\u2028line sep\u2029para', 'zero\u200bwidth\u200cjoiner\u200d\ufeffbom', '\u0000\u0001\u0007\u001b[31mred\u001b[0m\u007f',
  '👍🏽 👨‍👩‍👧‍👦 🇺🇸🇫🇷 🏳️‍🌈 1️⃣ ©️ ™', '<|endoftext|>', '<s>', '</s>', '<unk>', 'Hello<|endoftext|>world', '<|im_start|>user\nHi<|im_end|>\n',
  ' <s> a </s> b ', '<s><s></s></s>', '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n',
  '<fim_prefix>def f():<fim_suffix>\n<fim_middle>', '<|user|>\nHi<|end|>\n<|assistant|>', '<｜begin▁of▁sentence｜>Hi<｜end▁of▁sentence｜>',
  '  <s>  </s>  ', '<0x41><0x0A>', '▁already▁escaped', 'ĠGĠpt Ċ', 'a , b . c ? d ! e \' f \'s g \'re',
  'function f(x) {\n  return x * 2; // double\n}\n', 'def main():\n    print("hi")\n\tif x:\n\t\treturn None\n',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }', 'fn main() -> Result<(), Box<dyn Error>> { Ok(()) }',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;', '<div class="x">&nbsp;&lt;tag&gt;</div>',
  'for i in $(seq 1 10); do echo "$i" | grep -E \'^[0-9]+$\'; done', 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }',
  '{"key": [1, 2.5, true, null], "nested": {"a": "b"}}', 'x+=1;y-=2;z*=3;w/=4;a%=5;b**=6;c//=7;d>>=8;e<<=9;f&&=g||=h??=i',
  '~~~ ``` *** ___ ||| ^^^ $$$ +++ <<< >>> === !!! ??? ... ,,, ;;; ::: ---', '    \t   \n\n   \t\t\n ',
  'trailing spaces   ', '   leading spaces', 'a\n\n\n\nb\r\rc\r\n\r\nd', '\u00a0\u00a0a', '__ggml_vocab_test__',
];

const WORDS = [
  'the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'tokenizer', 'Hello', 'WORLD', 'inference', 'server',
  'llama', 'GPU', 'naïve', 'café', 'Zürich', 'straße', 'coöperate', 'São', 'Paulo', 'déjà', 'vu', 'Москва', 'Київ',
  'Αθήνα', 'القاهرة', 'ירושלים', 'मुंबई', 'กรุงเทพ', '서울', '東京', '北京', 'Hà', 'Nội', 'İstanbul', 'Ærø', 'Łódź',
];
const PIECES = [
  "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'Re", ' ', '  ', '   ', '\t', '\n', '\r\n', '\n\n', ' \n ',
  '\u3000', '\u00a0', '.', ',', '!', '?', '...', '--', '—', '–', '"', '“', '”', '‘', '’', '«', '»', '(', ')', '[', ']',
  '{', '}', '<', '>', '/', '\\', '|', '@', '#', '$', '%', '^', '&', '*', '_', '=', '+', '~', '`', ';', ':',
  '😀', '🦙', '🔥', '❤️', '👩‍💻', '🇯🇵', '✓', '∑', '∞', '≠', '→', '€', '£', '¥', '₹', '°', '±', '×', '÷',
  '0', '7', '42', '1000', '3.14', '-1', '2024-01-01', '1,234,567', '٣', '五',
];
const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<s>', '</s>', '<unk>', '<fim_prefix>', '<|end|>', '<|user|>', '<pad>'];
const CODE = [
  'const x = await fetch(url);', 'if (a && !b) { return; }', 'for (let i = 0; i < n; i++) sum += a[i];', 'import os, sys',
  'class Foo(Bar):\n    pass', 'x = [i**2 for i in range(10) if i % 2 == 0]', 'std::vector<int> v{1, 2, 3};', 'SELECT * FROM t;',
  'println!("{:?}", v);', 'echo $HOME && ls -la', '<a href="/x?y=1&z=2">link</a>', '# Title\n\n- item\n- **bold**',
];
const BLOCKS: Array<[number, number]> = [
  [0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f],
  [0xe00, 0xe7f], [0x1100, 0x11ff], [0x2000, 0x206f], [0x2190, 0x22ff], [0x3040, 0x30ff], [0x4e00, 0x4fff],
  [0xac00, 0xad00], [0xff00, 0xffef], [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff],
];

/** `count` strings: a fixed list of hand-picked cases first, then seeded random mixes. */
export function tokenizerCorpus(count = 520, seed = 0x5eed): string[] {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out = [...FIXED];
  const generators: Array<() => string> = [
    () => Array.from({ length: 1 + Math.floor(rand() * 12) }, () => pick(WORDS)).join(pick([' ', ' ', ' ', '  ', '\n', '\t', ', '])),
    () => Array.from({ length: 1 + Math.floor(rand() * 16) }, () => (rand() < 0.5 ? pick(WORDS) : pick(PIECES))).join(''),
    () => Array.from({ length: 1 + Math.floor(rand() * 20) }, () => pick(PIECES)).join(''),
    () => Array.from({ length: 1 + Math.floor(rand() * 6) }, () => (rand() < 0.3 ? pick(SPECIALS) : pick(WORDS) + pick(PIECES))).join(''),
    () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(CODE)).join(pick(['\n', '\n\n', '\n    ', '\t'])),
    () => {
      const [lo, hi] = pick(BLOCKS);
      return Array.from({ length: 1 + Math.floor(rand() * 24) }, () => String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)))).join('');
    },
    () => String(Math.floor(rand() * 1e15)) + pick(['', '.', ',', ' ', '0000']) + String(Math.floor(rand() * 1e9)),
    () => pick([' ', '\t', '\n', '\r\n', '\u00a0', '\u3000']).repeat(1 + Math.floor(rand() * 40)) + pick(['', 'x', WORDS[0]!, '\n']),
  ];
  while (out.length < count - 4) out.push(pick(generators)());
  // Long inputs: a few kilobytes of mixed text, and long runs of one character.
  const long = () => Array.from({ length: 400 }, () => pick(generators)()).join(' ');
  out.push(long(), long(), 'a'.repeat(5000), ' '.repeat(3000) + 'x');
  return out;
}
