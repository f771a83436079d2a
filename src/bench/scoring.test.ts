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
