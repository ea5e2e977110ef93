import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StopMatcher } from '../../src/scheduler/stop-matcher.js';

/** The expected output when `stops` cut `text`: everything before the earliest stop occurrence. */
function beforeFirstStop(text: string, stops: readonly string[]): { text: string; stopped: boolean } {
  let cut = -1;
  for (let at = 0; at < text.length && cut < 0; at++) {
    if (stops.some((s) => text.startsWith(s, at))) cut = at;
  }
  return cut < 0 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}

/** How many trailing characters of `text` could still grow into a stop string (the minimum to hold back). */
function mustHold(text: string, stops: readonly string[]): number {
  let most = 0;
  for (const stop of stops) {
    for (let n = 1; n < stop.length && n <= text.length; n++) {
      if (text.endsWith(stop.slice(0, n))) most = Math.max(most, n);
    }
  }
  return most;
}

interface Run {
  emitted: string;
  stopped: boolean;
  /** Text pushed before the run stopped or ended. */
  consumed: string;
}

/**
 * Feeds `chunks` one by one the way a choice's output does (stop pushing once stopped; flush at
 * the end otherwise), checking after every push that nothing is leaked and that `holding`
 * matches exactly the text held back.
 */
function feed(stops: readonly string[], chunks: readonly string[], fullText: string): Run {
  const m = new StopMatcher(stops);
  const expected = beforeFirstStop(fullText, stops);
  let emitted = '';
  let consumed = '';
  for (const chunk of chunks) {
    consumed += chunk;
    const r = m.push(chunk);
    emitted += r.text;
    const ctx = `stops=${JSON.stringify(stops)} chunks=${JSON.stringify(chunks)} emitted=${JSON.stringify(emitted)}`;
    // Never send anything past the point where the first stop string starts.
    assert.ok(expected.text.startsWith(emitted), `leaked text: ${ctx}`);
    if (r.stopped) {
      assert.equal(m.holding, false, `holding after a stop: ${ctx}`);
      return { emitted, stopped: true, consumed };
    }
    // What is held back is exactly the part of the input not yet emitted...
    assert.ok(consumed.startsWith(emitted), ctx);
    const held = consumed.length - emitted.length;
    assert.equal(m.holding, held > 0, `holding flag: ${ctx}`);
    // ...and it is no more than what could still become a stop string.
    assert.equal(held, mustHold(consumed, stops), `held amount: ${ctx}`);
  }
  const rest = m.flush();
  assert.equal(m.holding, false);
  return { emitted: emitted + rest, stopped: false, consumed };
}

/** Every way to cut `text` in two at a UTF-16 code unit boundary, plus one character at a time. */
function splits(text: string): string[][] {
  const out: string[][] = [[text]];
  for (let i = 0; i <= text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  out.push(text.split(''));
  out.push(Array.from(text)); // whole code points
  return out;
}

function checkAllSplits(text: string, stops: readonly string[]): void {
  const expected = beforeFirstStop(text, stops);
  for (const chunks of splits(text)) {
    const run = feed(stops, chunks, text);
    const ctx = `text=${JSON.stringify(text)} stops=${JSON.stringify(stops)} chunks=${JSON.stringify(chunks)}`;
    assert.equal(run.stopped, expected.stopped, ctx);
    assert.equal(run.emitted, expected.text, ctx);
  }
}

describe('StopMatcher', () => {
  const cases: Array<{ name: string; stops: string[]; texts: string[] }> = [
    {
      name: 'a single stop',
      stops: ['END'],
      texts: ['hello END world', 'hello EN', 'ENEND', 'EEENDEND', 'no stop here', 'END', 'xEND', 'E', ''],
    },
    {
      name: 'overlapping stops',
      stops: ['abc', 'bcd'],
      texts: ['xxabcd', 'xxbcd', 'abcd', 'ababcbcd', 'xbcabc', 'ab', 'bc', 'zzbcbcz', 'abab'],
    },
    {
      name: 'a stop that is a prefix of another',
      stops: ['ab', 'abc'],
      texts: ['xxabc', 'xxab', 'xa', 'aab', 'aaa', 'ba', 'cab'],
    },
    {
      name: 'the longer stop listed first',
      stops: ['abc', 'ab'],
      texts: ['xxabc', 'xxab', 'xa', 'aab'],
    },
    {
      name: 'a stop at the very start',
      stops: ['<|end|>'],
      texts: ['<|end|>trailing', '<|end|>', '<|en', '<<|end|>', '<|<|end|>'],
    },
    {
      name: 'multi-byte characters and emoji',
      stops: ['👋', '日本', 'café!'],
      texts: ['hi 👋 there', 'hi 👍 there', 'hi 👍👋', '日日本語', 'caf', 'un café! s’il', 'un café s’il', '😀😀日'],
    },
    {
      name: 'stops made of repeated characters',
      stops: ['\n\n', '###'],
      texts: ['line\n\nnext', 'a\nb\nc', '##a###', '#\n#\n\n', '\n'],
    },
  ];

  for (const { name, stops, texts } of cases) {
    it(`${name}: no stop text leaks, however the text is split`, () => {
      for (const text of texts) checkAllSplits(text, stops);
    });
  }

  it('random texts, stop sets and chunkings agree with cutting the whole text', () => {
    // A small deterministic generator so that failures reproduce.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ['a', 'b', 'c', 'é', '🙂'];
    const word = (len: number) => Array.from({ length: len }, () => alphabet[rand(alphabet.length)]).join('');
    // A stop found inside another one, past its start and ending before its end, completes
    // first when text arrives piece by piece but not when it arrives whole, so the cut point
    // legitimately depends on the chunking; such sets are skipped here.
    const nested = (stops: string[]) =>
      stops.some((a) => stops.some((b) => a !== b && !b.startsWith(a) && b.slice(0, -1).indexOf(a, 1) >= 0));
    let checked = 0;
    while (checked < 400) {
      const stops = Array.from({ length: 1 + rand(3) }, () => word(1 + rand(3)));
      if (nested(stops)) continue;
      const text = word(rand(12));
      checkAllSplits(text, stops);
      // And a few random multi-chunk splits.
      for (let k = 0; k < 5; k++) {
        const cuts = [...new Set(Array.from({ length: rand(5) }, () => rand(text.length + 1)))].sort((x, y) => x - y);
        const chunks: string[] = [];
        let from = 0;
        for (const c of cuts) {
          chunks.push(text.slice(from, c));
          from = c;
        }
        chunks.push(text.slice(from));
        const run = feed(stops, chunks, text);
        assert.equal(run.emitted, beforeFirstStop(text, stops).text, JSON.stringify({ text, stops, chunks }));
      }
      checked++;
    }
  });

  it('without stop strings text passes straight through and nothing is held', () => {
    const m = new StopMatcher([]);
    for (const chunk of ['a', 'b', '', 'END', '👋']) {
      assert.deepEqual(m.push(chunk), { text: chunk, stopped: false });
      assert.equal(m.holding, false);
    }
    assert.equal(m.flush(), '');
  });

  it('holds a possible stop prefix, then releases it when the text goes another way', () => {
    const m = new StopMatcher(['</s>']);
    assert.deepEqual(m.push('hi <'), { text: 'hi ', stopped: false });
    assert.equal(m.holding, true);
    assert.deepEqual(m.push('/'), { text: '', stopped: false });
    assert.equal(m.holding, true);
    assert.deepEqual(m.push('p>'), { text: '</p>', stopped: false });
    assert.equal(m.holding, false);
  });

  it('flush returns the held text once and clears it', () => {
    const m = new StopMatcher(['STOP']);
    assert.deepEqual(m.push('abcST'), { text: 'abc', stopped: false });
    assert.equal(m.holding, true);
    assert.equal(m.flush(), 'ST');
    assert.equal(m.holding, false);
    assert.equal(m.flush(), '');
  });

  it('cuts at the stop and drops everything after it in the same chunk', () => {
    const m = new StopMatcher(['\n']);
    assert.deepEqual(m.push('one\ntwo\nthree'), { text: 'one', stopped: true });
    assert.equal(m.holding, false);
  });

  it('the earliest stop wins, whatever the order of the stop list', () => {
    assert.deepEqual(new StopMatcher(['zz', 'b']).push('abzz'), { text: 'a', stopped: true });
    assert.deepEqual(new StopMatcher(['b', 'zz']).push('azzb'), { text: 'a', stopped: true });
  });
});
