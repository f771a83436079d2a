import { describe, expect, it } from 'vitest';
import {
  modelDigest,
  OFFICIAL_CONFIG,
  resultFrom,
  runIdentity,
  runSettings,
  samplesDigest,
  type AnswerSettings,
  type Sample,
} from '../bench/index';
import { settingsText, shortSampleId, unofficialReasons, verdictOf } from './run-text';

const sample: Sample = {
  sampleId: 'f71fb12c-211c-495b-a893-1f73e0538475_0',
  rawSampleId: 'f71fb12c-211c-495b-a893-1f73e0538475_0',
  level: 'L3',
  question: 'What next, in order to remove clothes from the washing machine?',
  choices: ['open washing machine', 'pick bag', 'put cloths in bag', 'close washing machine'],
  gold: 'C',
  answer: 'put cloths in bag',
  videoSource: 'Ego4D',
  videoId: null,
  taskGoal: null,
  progress: [],
  hasClip: true,
  clipPaths: ['videos/Ego4D/f71fb12c-211c-495b-a893-1f73e0538475_QA-0.mp4'],
  stillPath: null,
  domain: 'Daily life',
  scenario: 'laundry',
  format: 'egoplan-bench2-examples-jsonl',
  origin: { file: 'examples.jsonl', line: 1 },
};

function settings(answer: Partial<AnswerSettings>, subset = OFFICIAL_CONFIG.subset) {
  const identity = runIdentity(
    { id: 'set', questions: 1, digest: samplesDigest([sample]) },
    {
      label: 'models/tiny-random-qwen2-vl',
      dtype: 'fp32',
      q4Int8: 'off',
      digest: modelDigest([]),
      files: [],
    },
    { ...OFFICIAL_CONFIG, ...answer },
  );
  return runSettings(identity, { subset, device: 'wasm' });
}

describe('run text', () => {
  it('shortens L3 ids to the first 8 hex digits and the question number, and keeps others', () => {
    expect(shortSampleId(sample.sampleId)).toBe('f71fb12c…_0');
    expect(shortSampleId('115')).toBe('115');
    expect(shortSampleId('not-a-uuid_3')).toBe('not-a-uuid_3');
  });

  it('says why settings are not official, one phrase per difference', () => {
    expect(unofficialReasons(settings({}))).toEqual([]);
    expect(unofficialReasons(settings({ maxNewTokens: 24, wording: 'as-is' }))).toEqual([
      'question wording "as-is"',
      'max 24 new tokens (official: 256)',
    ]);
    // Extra scoring modes beside the official one keep a run official.
    const extras = settings({ scoring: { official: true, letters: true, likelihood: false } });
    expect(extras.official).toBe(true);
    expect(settingsText(extras)).toBe(
      'fp32 · official settings · + letters scoring · all questions',
    );
    expect(settingsText(settings({ clipValues: 'float' }, { kind: 'first', count: 2 }))).toBe(
      'fp32 · not official: clip frames not rounded (protocol.md float path) · first 2',
    );
  });

  it('reads an answer as the official rule does, always in words', () => {
    const v = (response: string | null, error: { stage: 'clip'; message: string } | null = null) =>
      verdictOf(sample, resultFrom(sample, { response, error }));
    expect(v('<think>x</think><answer>C. put cloths in bag</answer>')).toEqual({
      kind: 'right',
      text: '✓ Right: answered C, gold C',
    });
    expect(v('<answer>A</answer>').text).toBe('✗ Wrong: answered A, gold C');
    expect(v('<answer>Option C</answer>').kind).toBe('none');
    expect(v('C')).toEqual({
      kind: 'none',
      text: 'No answer the official rule can read (scored 0) · gold C',
    });
    expect(v(null, { stage: 'clip', message: 'missing file x.mp4' }).text).toBe(
      'clip stage failed: missing file x.mp4',
    );
  });
});
