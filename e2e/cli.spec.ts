import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { readSummaryFile } from '../src/bench/index';
import { expectedHash, protocolPrompt, sha256, type PromptLine } from './protocol-prompt';

// npm run eval / npm run merge as a user runs them (child processes): the real app in headless
// Chromium, the tiny model on wasm, the first 3 real example questions and clips from ../shared.

const root = resolve(import.meta.dirname, '..');
const VIDEOS = resolve(root, '../shared/seedbench/egoplan-bench2-examples');
const SET = 'egoplan-bench2-examples-L3';
const OFFICIAL_KEYS = ['sample_id', 'prompt', 'problem', 'solution', 'response', 'reward'];

const firstIds = readFileSync(join(VIDEOS, 'examples.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .slice(0, 3)
  .map((l) => (JSON.parse(l) as { sample_id: string }).sample_id);

function npm(script: 'eval' | 'merge', args: string[]) {
  const r = spawnSync('npm', ['run', '--silent', script, '--', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 170_000,
    env: { ...process.env, CI: '1' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const evalArgs = (out: string, extra: string[] = []) => [
  '--benchmark',
  SET,
  '--videos',
  VIDEOS,
  '--limit',
  '3',
  '--device',
  'wasm',
  '--out',
  out,
  ...extra,
];

type Line = Record<string, unknown> &
  PromptLine & {
    sample_id: string;
    response: string;
    wording: string | null;
    prompt_tokens: number | null;
    timings: Record<string, number>;
    device: string | null;
    dtype: string;
    engine: string | null;
  };

const readLines = (dir: string): Line[] =>
  readFileSync(join(dir, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

const byId = (lines: Line[]) => new Map(lines.map((l) => [l.sample_id, l]));

test.describe.configure({ mode: 'serial' });
const tmp = mkdtempSync(join(tmpdir(), 'seedbench-cli-'));
const whole = join(tmp, 'whole');

test('npm run eval: 3 questions, files parse, frames dumped, a second run resumes with nothing to do', () => {
  test.setTimeout(240_000);
  const first = npm('eval', evalArgs(whole, ['--dump-frames']));
  expect(first.code, first.err).toBe(0);
  expect(first.out).toContain('official % [95% CI]');

  const lines = readLines(whole);
  expect(lines.map((l) => l.sample_id).sort()).toEqual([...firstIds].sort());
  for (const l of lines) {
    // The official fields lead each line, in the official order (diffable against Python), then
    // what the model got: by default the SEED-Bench-R1 wording, and the hash the model computed
    // where it tokenized equals the official template rendered here from the line's problem.
    expect(Object.keys(l).slice(0, 9)).toEqual([
      ...OFFICIAL_KEYS,
      'wording',
      'prompt_tokens',
      'model_prompt_sha256',
    ]);
    expect(l.wording).toBe('seed-bench-r1');
    expect(l.problem).toContain('my current observation shown in the image');
    expect(l.model_prompt_sha256).toBe(expectedHash(l));
    expect(l.prompt_tokens).toBeGreaterThan(((l.frame_indices?.length ?? 0) / 2) * 81 + 81);
    expect([0, 1]).toContain(l.reward);
    expect(l.error).toBeNull();
    // Protocol: 2 frames per second, at least 4, at most 16, even; these clips all exceed 2 s.
    expect(l.frame_indices!.length % 2).toBe(0);
    expect(l.frame_indices!.length).toBeGreaterThanOrEqual(4);
    expect(l.frame_indices!.length).toBeLessThanOrEqual(16);
    expect(l.timings.totalMs).toBeGreaterThan(0);
    expect(l.timings.visionMs).toBeGreaterThan(0);
    // Where it ran, as the model reported it: the tiny folder has the fast graphs, so engine 'auto'
    // (the default) ran them, and the line says so.
    expect(l.device).toBe('wasm');
    expect(l.engine).toBe('fast');
    expect(['fp32', 'q4']).toContain(l.dtype);
    // Frames: one PNG per sampled index plus the still, same indices as the run used.
    const dir = join(whole, 'frames', l.sample_id);
    const meta = JSON.parse(readFileSync(join(dir, 'frames.json'), 'utf8')) as {
      indices: number[];
      files: string[];
      indices_match_run: boolean;
    };
    expect(meta.indices).toEqual(l.frame_indices);
    expect(meta.indices_match_run).toBe(true);
    expect(meta.files).toHaveLength(l.frame_indices!.length + 1);
    const png = readFileSync(join(dir, 'still.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    // IHDR width and height: 252 x 252 (protocol section 2).
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([252, 252]);
  }
  // Read back through its schema (bench/export.ts): every field of the file is checked.
  const summaryPath = join(whole, 'summary.json');
  const summary = readSummaryFile(summaryPath, readFileSync(summaryPath, 'utf8'));
  expect(summary.run.settings.wording).toBe('seed-bench-r1');
  expect(summary.run.settings.official).toBe(true);
  expect(summary.questions).toBe(3);
  const official = summary.summary.total.byMode.official!;
  expect(official.n).toBe(3);
  expect(official.correct).toBe(lines.filter((l) => l.reward === 1).length);

  const before = readFileSync(join(whole, 'results.jsonl'), 'utf8');
  const again = npm('eval', evalArgs(whole));
  expect(again.code, again.err).toBe(0);
  expect(again.err).toContain('3 already in');
  expect(again.err).toContain('0 to run');
  expect(readFileSync(join(whole, 'results.jsonl'), 'utf8')).toBe(before);
});

test('npm run eval --shard 1/2 and 2/2, a killed shard resumed, then npm run merge equal the whole run', () => {
  test.setTimeout(240_000);
  const s1 = join(tmp, 's1');
  const s2 = join(tmp, 's2');
  const merged = join(tmp, 'merged');
  for (const [dir, shard] of [
    [s1, '1/2'],
    [s2, '2/2'],
  ] as const) {
    const r = npm('eval', evalArgs(dir, ['--shard', shard]));
    expect(r.code, r.err).toBe(0);
  }
  // Question k goes to shard k mod n: shard 1 has questions 1 and 3, shard 2 question 2.
  expect(readLines(s1).map((l) => l.sample_id)).toEqual([firstIds[0], firstIds[2]]);
  expect(readLines(s2).map((l) => l.sample_id)).toEqual([firstIds[1]]);

  // A run killed while writing leaves a partial last line: it is cut and that question redone.
  const text = readFileSync(join(s1, 'results.jsonl'), 'utf8');
  const firstLine = text.slice(0, text.indexOf('\n') + 1);
  const rest = text.slice(firstLine.length);
  writeFileSync(join(s1, 'results.jsonl'), firstLine + rest.slice(0, rest.length >> 1));
  const resumed = npm('eval', evalArgs(s1, ['--shard', '1/2']));
  expect(resumed.code, resumed.err).toBe(0);
  expect(resumed.err).toContain('1 already in');
  expect(readLines(s1)).toHaveLength(2);

  const m = npm('merge', ['--out', merged, s1, s2]);
  expect(m.code, m.err).toBe(0);
  const all = byId(readLines(whole));
  const joined = byId(readLines(merged));
  expect([...joined.keys()].sort()).toEqual([...all.keys()].sort());
  // Same model, same wasm kernels and thread count, greedy decoding: the same answers exactly.
  for (const [id, l] of joined) {
    expect(l.response).toBe(all.get(id)!.response);
    expect(l.frame_indices).toEqual(all.get(id)!.frame_indices);
  }
  type Total = { summary: { total: { questions: number; errors: number; byMode: unknown } } };
  const total = (dir: string) => {
    const t = (JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Total).summary.total;
    const official = (t.byMode as { official: { n: number; correct: number } }).official;
    return [t.questions, t.errors, official.n, official.correct];
  };
  expect(total(merged)).toEqual(total(whole));
  expect(readdirSync(merged).sort()).toEqual(['results.jsonl', 'run.json', 'summary.json']);

  // A shard of another model (same name, other bytes: its run.json says so) is not merged.
  const foreign = join(tmp, 's2-foreign');
  cpSync(s2, foreign, { recursive: true });
  const runJson = JSON.parse(readFileSync(join(foreign, 'run.json'), 'utf8')) as {
    settings: { model: { digest: string } };
  };
  runJson.settings.model.digest = '0'.repeat(64);
  writeFileSync(join(foreign, 'run.json'), JSON.stringify(runJson));
  const refused = npm('merge', ['--out', join(tmp, 'merged-foreign'), s1, foreign]);
  expect(refused.code).toBe(1);
  expect(refused.err).toContain('not the same run');
  expect(refused.err).toContain("the model's files differ");
});

// EgoPlan-Bench sample 5 (no progress clip: the still only) as an annotation file, its still where
// the protocol's path puts it, and the fixture the PyTorch reference made for it.
const STILL_FIXTURE = JSON.parse(
  readFileSync(join(root, 'e2e/fixtures/reference/still-sample5.json'), 'utf8'),
) as { prompt_text: string; prompt_tokens: number; pytorch: { greedy_text: string } };
function sample5(dir: string): { file: string; videos: string } {
  const all = JSON.parse(
    readFileSync(resolve(root, '../shared/seedbench/EgoPlan_validation.json'), 'utf8'),
  ) as { sample_id: number }[];
  mkdirSync(join(dir, 'media/images/EpicKitchens'), { recursive: true });
  copyFileSync(
    join(root, 'e2e/fixtures/reference/still-sample5.png'),
    join(dir, 'media/images/EpicKitchens/5.png'),
  );
  const file = join(dir, 'EgoPlan_validation.json');
  writeFileSync(file, JSON.stringify(all.filter((r) => r.sample_id === 5)));
  return { file, videos: join(dir, 'media') };
}

test('npm run eval --wording: the model gets each wording; SEED-Bench-R1 sample 5 equals PyTorch', () => {
  test.setTimeout(240_000);
  const { file, videos } = sample5(join(tmp, 'wording'));
  const args = (out: string, wording: string) => [
    '--benchmark',
    file,
    '--videos',
    videos,
    '--device',
    'wasm',
    '--max-new-tokens',
    '32',
    '--wording',
    wording,
    '--out',
    out,
  ];
  const seed = npm('eval', args(join(tmp, 'w-seed'), 'seed-bench-r1'));
  expect(seed.code, seed.err).toBe(0);
  const [s] = readLines(join(tmp, 'w-seed'));
  expect(s!.wording).toBe('seed-bench-r1');
  // The reference rendered this prompt with the processor (pads expanded: 81 for the still).
  const reference = STILL_FIXTURE.prompt_text.replace('<|image_pad|>', '<|image_pad|>'.repeat(81));
  expect(s!.model_prompt_sha256).toBe(sha256(reference));
  expect(s!.model_prompt_sha256).toBe(expectedHash(s!));
  expect(s!.prompt_tokens).toBe(STILL_FIXTURE.prompt_tokens);
  // Greedy decoding through the whole CLI -> app -> worker path: PyTorch's first 32 tokens.
  expect(s!.response).toBe(STILL_FIXTURE.pytorch.greedy_text);

  const asIs = npm('eval', args(join(tmp, 'w-as-is'), 'as-is'));
  expect(asIs.code, asIs.err).toBe(0);
  const [a] = readLines(join(tmp, 'w-as-is'));
  expect(a!.wording).toBe('as-is');
  expect(a!.problem).toContain('my current observation in the last frame');
  expect(a!.model_prompt_sha256).toBe(sha256(protocolPrompt(a!.problem, null)));
  expect(a!.model_prompt_sha256).not.toBe(s!.model_prompt_sha256);
});

test('npm run eval resumes only the same content: same-name model folder or annotation file with other bytes is refused', () => {
  test.setTimeout(240_000);
  const base = join(tmp, 'content');
  const { file, videos } = sample5(base);
  const model = join(base, 'models/tiny-random-qwen2-vl');
  cpSync(join(root, 'models/tiny-random-qwen2-vl'), model, { recursive: true });
  const out = join(base, 'out');
  const args = ['--model', model, '--benchmark', file, '--videos', videos, '--device', 'wasm'];
  const first = npm('eval', [...args, '--max-new-tokens', '2', '--out', out]);
  expect(first.code, first.err).toBe(0);

  // The same folder name with another config.json (a harmless key: other bytes all the same).
  const configPath = join(model, 'config.json');
  const config = readFileSync(configPath, 'utf8');
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(config), note: 'edited' }));
  const otherModel = npm('eval', [...args, '--max-new-tokens', '2', '--out', out]);
  expect(otherModel.code).toBe(2);
  expect(otherModel.err).toContain("the model's files differ from the run's (config.json;");
  writeFileSync(configPath, config);

  // The same annotation file name with one choice edited.
  const records = readFileSync(file, 'utf8');
  writeFileSync(file, records.replace('"open tap"', '"open the tap"'));
  const otherRecords = npm('eval', [...args, '--max-new-tokens', '2', '--out', out]);
  expect(otherRecords.code).toBe(2);
  expect(otherRecords.err).toContain('the annotation records of EgoPlan_validation.json differ');
  writeFileSync(file, records);

  // Back to the run's own bytes: it resumes (nothing left to run).
  const same = npm('eval', [...args, '--max-new-tokens', '2', '--out', out]);
  expect(same.code, same.err).toBe(0);
  expect(same.err).toContain('1 already in');
});

test('npm run eval: bad arguments name what is wrong, exit code 2, nothing started', () => {
  const r = npm('eval', [
    '--benchmark',
    'no-such-set',
    '--videos',
    VIDEOS,
    '--out',
    join(tmp, 'x'),
  ]);
  expect(r.code).toBe(2);
  expect(r.err).toContain('"no-such-set" is neither a file nor a set id');
  expect(existsSync(join(tmp, 'x'))).toBe(false);
  const s = npm('eval', evalArgs(join(tmp, 'y'), ['--shard', '3/2']));
  expect(s.code).toBe(2);
  expect(s.err).toContain('--shard must be i/n');
});
