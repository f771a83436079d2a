import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  fileDigest,
  identityConflicts,
  isOfficial,
  modelDigest,
  OFFICIAL_CONFIG,
  officialResultLine,
  parseBenchmarkFile,
  promptRecordFor,
  questionOptions,
  resultFrom,
  runIdentity,
  runKey,
  samplesDigest,
  sha256Hex,
  type ModelIdentity,
} from './index';

const text = readFileSync(
  new URL('../../../shared/seedbench/egoplan-bench2-examples/examples.jsonl', import.meta.url),
  'utf8',
);
const samples = parseBenchmarkFile('examples.jsonl', text).samples;
const bench = { id: 'examples.jsonl', questions: samples.length, digest: samplesDigest(samples) };

function model(config: string, label = 'tiny-random-qwen2-vl'): ModelIdentity {
  const files = [
    fileDigest('config.json', config.length, new TextEncoder().encode(config), new Uint8Array()),
    fileDigest('onnx/decoder_model_merged.onnx', 3, new Uint8Array([1, 2, 3]), new Uint8Array()),
  ];
  return { label, dtype: 'fp32', digest: modelDigest(files), files };
}

describe('run identity', () => {
  const id = runIdentity(bench, model('{"a":1}'), OFFICIAL_CONFIG);

  it('keys name the settings and the content, so only the same run resumes', () => {
    const key = runKey(id);
    expect(key).toMatch(
      /^examples\.jsonl \| tiny-random-qwen2-vl \| fp32 \| official \| seed-bench-r1 \| max256 \| questions [0-9a-f]{12} \| model [0-9a-f]{12}$/,
    );
    expect(runKey({ ...id, clipValues: 'float' })).toContain(' | float-frames');
    expect(runKey({ ...id, wording: 'as-is' })).not.toBe(key);
    expect(isOfficial(id)).toBe(true);
    expect(isOfficial({ ...id, maxNewTokens: 32 })).toBe(false);
  });

  it('a model folder of the same name with other bytes is another run, and says which file', () => {
    const other = runIdentity(bench, model('{"a":2}'), OFFICIAL_CONFIG);
    expect(runKey(other)).not.toBe(runKey(id));
    const diff = identityConflicts(id, other);
    expect(diff).toHaveLength(1);
    expect(diff[0]).toMatchObject({ field: 'model files', content: true });
    expect(diff[0]?.message).toContain('config.json');
    expect(diff[0]?.message).not.toContain('decoder_model_merged');
  });

  it('an edited annotation file of the same name is another run (a gold letter changed)', () => {
    const edited = text.replace('"golden_choice_idx": "A"', '"golden_choice_idx": "B"');
    expect(edited).not.toBe(text);
    const parsed = parseBenchmarkFile('examples.jsonl', edited).samples;
    const editedBench = { ...bench, digest: samplesDigest(parsed) };
    const other = runIdentity(editedBench, id.model, OFFICIAL_CONFIG);
    expect(runKey(other)).not.toBe(runKey(id));
    expect(identityConflicts(id, other).map((d) => d.field)).toEqual(['questions']);
    // Reordering lines changes nothing the model sees or scores: same run.
    const lines = text.trimEnd().split('\n');
    const reordered = parseBenchmarkFile('examples.jsonl', [...lines].reverse().join('\n'));
    expect(samplesDigest(reordered.samples)).toBe(bench.digest);
  });

  it('settings that differ by name are listed, not treated as content', () => {
    const other = runIdentity(bench, model('{"a":1}', 'other'), {
      ...OFFICIAL_CONFIG,
      maxNewTokens: 8,
    });
    expect(identityConflicts(id, other).map((d) => [d.field, d.content])).toEqual([
      ['model', false],
      ['max new tokens', false],
    ]);
  });

  it('question options carry every setting the model reads, copied (not shared)', () => {
    const o = questionOptions({ ...OFFICIAL_CONFIG, wording: 'as-is', maxNewTokens: 7 });
    expect(o).toEqual({
      wording: 'as-is',
      scoring: OFFICIAL_CONFIG.scoring,
      maxNewTokens: 7,
      probes: { topLogits: 0, logitsAt: [], checkLikelihood: false },
    });
    expect(o.scoring).not.toBe(OFFICIAL_CONFIG.scoring);
  });
});

describe('what the model got, in the official export', () => {
  const s = samples[0]!;

  it('is worded as the model record says, and refused when the record does not match', () => {
    const asked = promptRecordFor(s, 'as-is', 16, 900);
    const line = JSON.parse(
      officialResultLine(s, resultFrom(s, { response: '<answer>A</answer>', modelPrompt: asked })),
    ) as { problem: string };
    expect(line.problem.startsWith(s.question)).toBe(true);
    const seed = promptRecordFor(s, 'seed-bench-r1', 16, 900);
    expect(seed.sha256).not.toBe(asked.sha256);
    // A record claiming SEED-Bench-R1 wording with the hash of the file's own text: refused.
    const forged = { ...seed, sha256: asked.sha256 };
    expect(() =>
      officialResultLine(s, resultFrom(s, { response: 'x', modelPrompt: forged })),
    ).toThrow(/not the one the model got/);
    expect(() => officialResultLine(s, resultFrom(s, { response: 'x' }))).toThrow(
      /no record of what the model was given/,
    );
  });

  it('hashes the UTF-8 text exactly (SHA-256 test vector)', () => {
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
