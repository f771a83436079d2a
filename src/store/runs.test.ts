import { describe, expect, it } from 'vitest';
import { resultFrom, wilsonInterval, type Sample } from '../bench/index';
import type { StoredResult } from './db';
import { runStats } from './runs';

function sample(id: string, gold: Sample['gold']): Sample {
  return {
    sampleId: id,
    rawSampleId: id,
    level: 'L3',
    question: 'What next?',
    choices: ['a', 'b', 'c', 'd'],
    gold,
    answer: 'b',
    videoSource: 'Ego4D',
    videoId: `video-${id}`,
    taskGoal: null,
    progress: [],
    hasClip: true,
    clipPaths: [`videos/Ego4D/${id}.mp4`],
    stillPath: null,
    domain: 'Work',
    scenario: 'carpenter',
    format: 'egoplan-bench2-examples-jsonl',
    origin: { file: 'examples.jsonl', line: 1 },
  };
}

function stored(s: Sample, response: string | null, device: string, totalMs: number): StoredResult {
  const r = resultFrom(s, {
    response,
    error: response === null ? { stage: 'clip', message: 'missing file' } : null,
    timings: { totalMs },
  });
  return { ...r, runKey: 'k', device };
}

describe('runStats', () => {
  it('counts only the run’s questions: done, errors, official accuracy, time, devices', () => {
    const [a, b, c, outside] = [
      sample('a', 'B'),
      sample('b', 'C'),
      sample('c', 'A'),
      sample('x', 'A'),
    ];
    const results = [
      stored(a, '<answer>B</answer>', 'webgpu', 1000),
      stored(b, '<answer>A</answer>', 'wasm', 1500),
      stored(c, null, 'wasm', 20),
      // Under the same key but not one of the run's questions (a spot check of another one).
      stored(outside, '<answer>A</answer>', 'wasm', 999),
    ];
    const s = runStats({ sampleIds: ['a', 'b', 'c', 'd'], updatedAt: 't' }, results);
    expect(s).toMatchObject({ updatedAt: 't', done: 3, total: 4, errors: 1, durationMs: 2520 });
    expect(s.devices).toEqual(['webgpu', 'wasm']);
    // The official rule scored the two answered questions (the failed one has no response).
    expect(s.official.n).toBe(2);
    expect(s.official.correct).toBe(1);
    expect(s.official.wilson).toEqual(wilsonInterval(1, 2));
  });
});
