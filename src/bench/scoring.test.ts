import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pythonStrip, scoreLenient, scoreOfficial } from './index';

describe('official scoring (protocol section 5)', () => {
  const cases: [string, string, 0 | 1][] = [
    ['<think>x</think><answer>B. take cereal bag</answer>', 'B', 1],
    ['<answer>B</answer>', 'B', 1],
    ['<answer> \n B \n</answer>', 'B', 1], // stripped
    ['<answer>Option B</answer>', 'B', 0],
    ['<answer>(B)</answer>', 'B', 0],
    ['<answer>b</answer>', 'B', 0], // case-sensitive
    ['<answer></answer>', 'B', 0], // empty tag
    ['<answer>   </answer>', 'B', 0], // empty after strip
    ['The answer is B', 'B', 0], // no tag
    ['<think>long reasoning <answer>B', 'B', 0], // truncated: no closing tag
    ['<answer>A</answer> then <answer>B</answer>', 'B', 0], // first match counts
    ['<answer>\nB\n</answer>', 'B', 1], // across newlines
    ['<answer>C</answer>', 'B', 0],
    ['<ANSWER>B</ANSWER>', 'B', 0], // tags are case-sensitive
  ];
  it.each(cases)('%j with gold %s scores %i', (response, gold, reward) => {
    expect(scoreOfficial(response, gold as 'B').reward).toBe(reward);
  });

  it('reports the letter it read, or null', () => {
    expect(scoreOfficial('<answer>D. x</answer>', 'A')).toEqual({
      reward: 0,
      answer: 'D. x',
      letter: 'D',
    });
    expect(scoreOfficial('<answer>Option B</answer>', 'B').letter).toBeNull();
    expect(scoreOfficial('no tag', 'B')).toEqual({ reward: 0, answer: null, letter: null });
  });

  it('strips like Python str.strip()', () => {
    expect(pythonStrip('\x1c\x85 B \u3000')).toBe('B');
    expect(pythonStrip('\ufeffB')).toBe('\ufeffB'); // not whitespace to Python
    expect(scoreOfficial('<answer>\ufeffB</answer>', 'B').reward).toBe(0);
  });
});

describe('lenient letter extractor (not official)', () => {
  const cases: [string, string | null, string | null][] = [
    ['<answer>B</answer>', 'B', 'official'],
    ['<answer>Option B</answer>', 'B', 'tag-letter'],
    ['<answer>(C)</answer>', 'C', 'tag-letter'],
    ['The answer is (D).', 'D', 'phrase'],
    ['<think>A or B?</think> Answer: A', 'A', 'phrase'],
    ['C. open cupboard', 'C', 'leading-letter'],
    ['I pick B', 'B', 'lone-letter'],
    ['A or B', null, null], // ambiguous
    ['I have no idea', null, null],
  ];
  it.each(cases)('%j → %s via %s', (response, letter, method) => {
    const s = scoreLenient(response, 'B');
    expect(s.letter).toBe(letter);
    expect(s.method).toBe(method);
    expect(s.reward).toBe(letter === 'B' ? 1 : 0);
  });
});

// The rules as they were written with regexes (correct, but the phrase regex and the strip
// backtracked badly on long runs of spaces); the scanners must agree with them everywhere.
const OLD_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const oldStrip = (s: string) => s.replace(new RegExp(`^[${OLD_SPACE}]+|[${OLD_SPACE}]+$`, 'g'), '');
function oldLenient(response: string): [string | null, string | null] {
  const m = /<answer>([\s\S]*?)<\/answer>/.exec(response);
  const answer = m ? oldStrip(m[1] ?? '') : null;
  if (answer && /^[ABCD]/.test(answer)) return [answer.charAt(0), 'official'];
  if (answer) {
    const inTag = /(?:^|[^A-Za-z])([ABCD])(?![A-Za-z])/.exec(answer);
    if (inTag?.[1]) return [inTag[1], 'tag-letter'];
  }
  const tail = oldStrip(response.replace(/<think>[\s\S]*?<\/think>/g, ''));
  const p =
    /(?:correct|best|final)?\s*(?:answer|option|choice)\s*(?:is|:)?\s*(?:option\s*)?\(?\s*([ABCD])\b/i.exec(
      tail,
    );
  if (p?.[1]) return [p[1].toUpperCase(), 'phrase'];
  const leading = /^\(?([ABCD])(?:[).:]|$)/.exec(tail);
  if (leading?.[1]) return [leading[1], 'leading-letter'];
  const lone = [...tail.matchAll(/(?:^|[^A-Za-z])([ABCD])(?![A-Za-z])/g)].map((x) => x[1]);
  if (lone.length > 0 && new Set(lone).size === 1) return [lone[0] ?? null, 'lone-letter'];
  return [null, null];
}

/** Seeded (mulberry32), so a failure names a reproducible input. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const TOKENS = [
  ...['answer', 'Answer', 'OPTION', 'option', 'choice', 'Choice', 'correct', 'final', 'best'],
  ...['is', 'IS', ':', '(', ')', '.', ' ', ' ', '  ', '\t', '\n', '\u3000', '\x1c', '\ufeff'],
  ...['<think>', '</think>', '<answer>', '</answer>', '<answer', 'A', 'b', 'C', 'D', 'E', 'x'],
  ...['_', '1', 'é', 'options', 'isA', 'ab'],
];
const hostile = (rand: () => number, tokens: number, from = TOKENS) =>
  Array.from({ length: tokens }, () => from[Math.floor(rand() * from.length)]).join('');
// Without a lone letter or a closed answer tag nothing ends the scan early: every rule reads it all.
const NO_LETTER = TOKENS.filter((t) => !['A', 'b', 'C', 'D', 'isA', 'ab', '</answer>'].includes(t));

describe('lenient extractor on untrusted output', () => {
  it('reads what the regexes read, on 20,000 random short outputs', () => {
    const rand = random(14);
    for (let k = 0; k < 20_000; k++) {
      const s = hostile(rand, 1 + Math.floor(rand() * 14));
      const got = scoreLenient(s, 'B');
      expect([got.letter, got.method], JSON.stringify(s)).toEqual(oldLenient(s));
      expect(scoreOfficial(s, 'B').answer, JSON.stringify(s)).toBe(
        /<answer>([\s\S]*?)<\/answer>/.exec(s)
          ? oldStrip(/<answer>([\s\S]*?)<\/answer>/.exec(s)?.[1] ?? '')
          : null,
      );
    }
  });

  // Timed in a fresh process with a deadline: the old regexes took 35 s on 3,000 spaces and would
  // block this test runner for hours on 100,000. Linear time gives a ratio near 20 (100,000 /
  // 5,000 characters); backtracking gives thousands.
  it('takes linear time: 5,000 vs 100,000 spaces after each trigger word, and hostile strings', () => {
    const cases: Record<string, (n: number) => string> = {};
    for (const w of ['answer', 'option', 'choice', 'Answer is', 'answer:', 'answer is option']) {
      cases[`${w} + spaces`] = (n) => `${w}${' '.repeat(n)}x`;
      cases[`${w} + spaces + ( + spaces`] = (n) => `${w}${' '.repeat(n)}(${' '.repeat(n)}X`;
    }
    cases['<answer>B + spaces + x</answer>'] = (n) => `<answer>B${' '.repeat(n)}x</answer>`;
    cases['<think> + answer + spaces'] = (n) => `<think>answer${' '.repeat(n)}`;
    cases['unclosed tags'] = (n) => '<think><answer>'.repeat(n / 15);
    for (const seed of [1, 2, 3])
      cases[`random, seed ${seed}`] = (n) => hostile(random(seed), n, NO_LETTER).slice(0, n);
    const inputs = Object.entries(cases).map(([name, make]) => [name, make(5_000), make(100_000)]);
    const timer = `
      import { scoreLenient, scoreOfficial } from ${JSON.stringify(new URL('./scoring.ts', import.meta.url).pathname)};
      import { readFileSync } from 'node:fs';
      const time = (s) => {
        let best = Infinity;
        for (let batch = 0; batch < 5; batch++) {
          let n = 0;
          const t0 = performance.now();
          do { scoreLenient(s, 'B'); scoreOfficial(s, 'B'); n++; } while (performance.now() - t0 < 10);
          best = Math.min(best, (performance.now() - t0) / n);
        }
        return best;
      };
      const out = {};
      for (const [name, small, big] of JSON.parse(readFileSync(0, 'utf8'))) out[name] = time(big) / time(small);
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', timer], {
      input: JSON.stringify(inputs),
      encoding: 'utf8',
      timeout: 40_000,
    });
    expect(r.error?.message ?? r.stderr, 'scoring 100,000 characters took over 40 s').toBe('');
    const ratios = JSON.parse(r.stdout) as Record<string, number>;
    expect(Object.keys(ratios)).toHaveLength(inputs.length);
    for (const [name, ratio] of Object.entries(ratios)) expect(ratio, name).toBeLessThan(60);
  });
});
