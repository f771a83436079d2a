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
  runLabel,
  runSettings,
  runSettingsSchema,
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
  return { label, dtype: 'fp32', q4Int8: 'off', digest: modelDigest(files), files };
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

  it('int8 activations are part of the identity: in the key and label when on, a difference like dtype', () => {
    const q4 = { ...model('{"a":1}'), dtype: 'q4' };
    const exact = runIdentity(bench, q4, OFFICIAL_CONFIG);
    const all = runIdentity(bench, { ...q4, q4Int8: 'all' }, OFFICIAL_CONFIG);
    const prefill = runIdentity(bench, { ...q4, q4Int8: 'prefill' }, OFFICIAL_CONFIG);
    // Exact runs keep the keys they had before the setting existed.
    expect(runKey(exact)).not.toContain('int8');
    expect(runKey(all)).toContain(' | q4 | official | seed-bench-r1 | max256 | int8 all | ');
    // On wasm 'prefill' and 'all' load the same files (no decode session): the key still differs.
    expect(new Set([runKey(exact), runKey(all), runKey(prefill)]).size).toBe(3);
    expect(runLabel(all)).toBe('examples.jsonl · tiny-random-qwen2-vl · q4 · int8 all');
    expect(identityConflicts(exact, all)).toEqual([
      { field: 'int8 activations', content: false, message: 'int8 activations off vs all' },
    ]);
    expect(identityConflicts(all, prefill).map((d) => d.message)).toEqual([
      'int8 activations all vs prefill',
    ]);
  });

  it('stored settings without q4Int8 (runs from before the setting) read back as exact, same key', () => {
    const now = runSettings(id, { subset: { kind: 'all' }, device: 'wasm' });
    const { q4Int8, ...oldModel } = now.model;
    expect(q4Int8).toBe('off');
    const old = JSON.parse(JSON.stringify({ ...now, model: oldModel })) as unknown;
    const read = runSettingsSchema.parse(old);
    expect(read.model.q4Int8).toBe('off');
    expect(runKey(read)).toBe(now.key);
    expect(identityConflicts(read, id)).toEqual([]);
    // A recorded value is kept; an unknown one is refused with the field.
    const all = { ...now, model: { ...now.model, q4Int8: 'all' } };
    expect(runSettingsSchema.parse(all).model.q4Int8).toBe('all');
    const bad = runSettingsSchema.safeParse({ ...now, model: { ...now.model, q4Int8: 'int4' } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['model', 'q4Int8']);
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
