import { describe, expect, it } from 'vitest';
import {
  clusterInterval,
  resultFrom,
  randomSubset,
  summarize,
  wilsonInterval,
  type Sample,
} from './index';

describe('intervals', () => {
  it('Wilson matches the closed form', () => {
    // 34 of 100 at z = 1.959964: (0.254615, 0.437223), from the closed form evaluated in Python.
    const w = wilsonInterval(34, 100);
    expect(w.low).toBeCloseTo(0.254615, 6);
    expect(w.high).toBeCloseTo(0.437223, 6);
    expect(wilsonInterval(0, 10).low).toBe(0);
    expect(wilsonInterval(10, 10).high).toBe(1);
  });

  it('clustered interval widens when questions of one video agree', () => {
    const independent = Array.from({ length: 40 }, (_, i) => ({ cluster: `v${i}`, reward: i % 2 }));
    const clustered = Array.from({ length: 40 }, (_, i) => ({
      cluster: `v${Math.floor(i / 4)}`,
      reward: Math.floor(i / 4) % 2,
    }));
    const a = clusterInterval(independent);
    const b = clusterInterval(clustered);
    expect(b.high - b.low).toBeGreaterThan(1.9 * (a.high - a.low)); // ~sqrt(4) design effect
    // All equal: not a zero-width interval but Wilson over the 10 clusters.
    const allRight = Array.from({ length: 40 }, (_, i) => ({ cluster: `v${i % 10}`, reward: 1 }));
    expect(clusterInterval(allRight)).toEqual(wilsonInterval(10, 10));
    // Singleton clusters: Wald * sqrt(n/(n-1)) = 1.96 * sqrt(.25/40) * sqrt(40/39)
    expect(a.high - 0.5).toBeCloseTo(1.959964 * Math.sqrt(0.25 / 40) * Math.sqrt(40 / 39), 6);
  });
});

const mk = (id: number, level: 'L1' | 'L3', domain: string | null, videoId: string): Sample => ({
  sampleId: String(id),
  rawSampleId: id,
  level,
  question: 'q',
  choices: ['a', 'b', 'c', 'd'],
  gold: 'B',
  answer: 'b',
  videoSource: 'Ego4D',
  videoId,
  taskGoal: null,
  progress: [],
  hasClip: false,
  clipPaths: null,
  stillPath: null,
  domain,
  scenario: domain ? 'cooking' : null,
  format: 'seed-bench-r1-jsonl',
  origin: { file: 'f' },
});

describe('summary', () => {
  it('counts accuracy per level and domain, letters, unparseable and errors', () => {
    const results = [
      resultFrom(mk(1, 'L1', null, 'v1'), { response: '<answer>B</answer>' }),
      resultFrom(mk(2, 'L1', null, 'v1'), { response: '<answer>A</answer>' }),
      resultFrom(mk(3, 'L1', null, 'v2'), {
        response: 'no tag, B',
        letterLogprobs: [-3, -1, -2, -4],
      }),
      resultFrom(mk(4, 'L3', 'Work', 'v3'), { response: '<answer>B</answer>' }),
      resultFrom(mk(5, 'L3', 'Work', 'v4'), {
        response: null,
        error: { stage: 'clip', message: 'x.mp4: truncated' },
      }),
    ];
    const s = summarize(results);
    const l1 = s.levels.find((g) => g.key === 'L1')!;
    expect(l1.byMode.official).toMatchObject({ n: 3, correct: 1, clusters: 2 });
    expect(l1.byMode.lenient).toMatchObject({ n: 3, correct: 2 });
    expect(l1.byMode.letters).toMatchObject({ n: 1, correct: 1 });
    expect(l1.letters).toEqual({ A: 1, B: 1, C: 0, D: 0, none: 1 });
    expect(l1.unparseable).toBe(1);
    expect(l1.lenientNeeded).toBe(1);
    const work = s.domains.find((g) => g.domain === 'Work')!;
    expect(work).toMatchObject({ questions: 2, errors: 1 });
    expect(work.byMode.official).toMatchObject({ n: 1, correct: 1 });
    expect(s.scenarios.map((g) => g.key)).toEqual(['L3 / Work / cooking']);
    expect(s.total.errors).toBe(1);
  });
});

describe('random subset', () => {
  it('is deterministic per seed, without repeats, in original order', () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const a = randomSubset(items, 10, 7);
    expect(randomSubset(items, 10, 7)).toEqual(a);
    expect(randomSubset(items, 10, 8)).not.toEqual(a);
    expect(new Set(a).size).toBe(10);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
  });
});
