import { describe, expect, it } from 'vitest';
import { indexMediaPaths, matchSampleMedia, resolveMedia, type Sample } from './index';

const sample = (over: Partial<Sample>): Sample => ({
  sampleId: '1',
  rawSampleId: 1,
  level: 'L1',
  question: 'q',
  choices: ['a', 'b', 'c', 'd'],
  gold: 'A',
  answer: 'a',
  videoSource: 'EpicKitchens',
  videoId: null,
  taskGoal: null,
  progress: [],
  hasClip: true,
  clipPaths: ['videos/EpicKitchens/1.mp4'],
  stillPath: 'images/EpicKitchens/1.png',
  domain: null,
  scenario: null,
  format: 'seed-bench-r1-jsonl',
  origin: { file: 'f' },
  ...over,
});

describe('media matching', () => {
  it('matches by path suffix whatever folder was picked', () => {
    for (const root of ['SEED-Bench-R1/', '', './']) {
      const idx = indexMediaPaths([
        `${root}videos/EpicKitchens/1.mp4`,
        `${root}images/EpicKitchens/1.png`,
      ]);
      const m = matchSampleMedia(idx, sample({}));
      expect(m.missing).toEqual([]);
      expect(m.clip).toBe(`${root}videos/EpicKitchens/1.mp4`);
    }
    // Picked videos/EpicKitchens itself: the path is a suffix of the dataset path.
    expect(resolveMedia(indexMediaPaths(['1.mp4']), 'videos/EpicKitchens/1.mp4')).toBe('1.mp4');
  });

  it('falls back to a unique basename, never an ambiguous one', () => {
    expect(resolveMedia(indexMediaPaths(['x/1.mp4']), 'videos/EpicKitchens/1.mp4')).toBe('x/1.mp4');
    expect(resolveMedia(indexMediaPaths(['x/1.mp4', 'y/1.mp4']), 'videos/Ego4D/1.mp4')).toBeNull();
  });

  it('lists what is missing, and needs no clip for still-only questions', () => {
    const idx = indexMediaPaths(['images/EpicKitchens/1.png']);
    expect(matchSampleMedia(idx, sample({})).missing).toEqual(['videos/EpicKitchens/1.mp4']);
    expect(matchSampleMedia(idx, sample({ hasClip: false, clipPaths: null })).missing).toEqual([]);
    expect(
      matchSampleMedia(
        indexMediaPaths([]),
        sample({ stillPath: null, clipPaths: ['videos/Ego4D/a.mp4', 'videos/Ego4D/b.mp4'] }),
      ).missing,
    ).toEqual(['videos/Ego4D/a.mp4']);
    expect(
      matchSampleMedia(
        indexMediaPaths(['b.mp4']),
        sample({ stillPath: null, clipPaths: ['videos/Ego4D/a.mp4', 'videos/Ego4D/b.mp4'] }),
      ).clip,
    ).toBe('b.mp4');
  });
});
