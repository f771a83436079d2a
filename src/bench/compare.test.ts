import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  agreement,
  alignGroups,
  errorDigest,
  importOfficialRun,
  mcnemarExactP,
  orderedResults,
  parseBenchmarkFile,
  promptRecordFor,
  resultFrom,
  summarize,
  toOfficialJsonl,
  type Sample,
} from './index';

const egoplan = parseBenchmarkFile(
  'EgoPlan_validation.json',
  readFileSync(
    new URL('../../../shared/seedbench/EgoPlan_validation.json', import.meta.url),
    'utf8',
  ),
);
const examples = parseBenchmarkFile(
  'examples.jsonl',
  readFileSync(
    new URL('../../../shared/seedbench/egoplan-bench2-examples/examples.jsonl', import.meta.url),
    'utf8',
  ),
);

// A few real L1 and L2 questions and the 12 real L3-style examples.
const l1 = egoplan.samples.filter((s) => s.level === 'L1').slice(0, 6);
const l2 = egoplan.samples.filter((s) => s.level === 'L2').slice(0, 4);
const samples: Sample[] = [...l1, ...l2, ...examples.samples];
const other = (s: Sample) => (s.gold === 'A' ? 'B' : 'A');

describe('importOfficialRun', () => {
  it('scores a Python-written results file with the official rule, line by line', () => {
    const [a, b, c] = l1 as [Sample, Sample, Sample];
    // Written as the official script's json.dumps would (", " / ": " separators, reward a float).
    // Line 2's reward disagrees with its response on purpose; line 4 is cut off mid-object.
    const text = [
      `{"sample_id": ${a.rawSampleId}, "prompt": [], "problem": "p", "solution": "<answer>${a.gold}.</answer>", "response": "<think>x</think><answer>${a.gold}. take</answer>", "reward": 1.0}`,
      `{"sample_id": ${b.rawSampleId}, "prompt": [], "problem": "p", "solution": "<answer>${b.gold}.</answer>", "response": "<answer>${other(b)}</answer>", "reward": 1.0}`,
      `{"sample_id": ${c.rawSampleId}, "prompt": [], "problem": "p", "solution": "<answer>${c.gold}.</answer>", "response": "no tags at all", "reward": 0.0}`,
      `{"sample_id": 999999, "prompt": [], "response": "<answer>A</answer>", "reward": 0.0}`,
      `{"sample_id": ${a.rawSampleId}, "response": "<answer>A</answer>", "reward": 0.0}`,
      `{"sample_id": 5, "prompt": [`,
      '',
    ].join('\n');
    const run = importOfficialRun('L1_results.jsonl', text, samples);
    expect(run.results.map((r) => r.sampleId)).toEqual([a.sampleId, b.sampleId, c.sampleId]);
    expect(run.results.map((r) => r.official?.reward)).toEqual([1, 0, 0]);
    expect(run.results[2]!.official?.letter).toBeNull();
    expect(run.rewardMismatches).toEqual([{ sampleId: b.sampleId, line: 2, file: 1, here: 0 }]);
    expect(run.lines).toBe(6);
    expect(run.messages).toHaveLength(3);
    expect(run.messages[0]).toMatch(/^L1_results\.jsonl:6: /);
    expect(run.messages.some((m) => m.includes(':4: sample_id 999999 is not among'))).toBe(true);
    expect(run.messages.some((m) => m.includes(':5: ') && m.includes('repeats line 1'))).toBe(true);
  });

  it('round-trips the app’s own official export: same letters and rewards', () => {
    const results = samples.map((s, i) =>
      resultFrom(s, {
        response:
          i % 3 === 0
            ? `<think>é “quotes” \n</think><answer>${s.gold}</answer>`
            : i % 3 === 1
              ? `<answer>${other(s)}. x</answer>`
              : 'The answer is (C)',
        modelPrompt: promptRecordFor(s, 'seed-bench-r1', 16, 900),
      }),
    );
    const { jsonl, refused } = toOfficialJsonl(samples, results);
    expect(refused).toEqual([]);
    const back = importOfficialRun('export.jsonl', jsonl, samples);
    expect(back.messages).toEqual([]);
    expect(back.rewardMismatches).toEqual([]);
    expect(back.results.map((r) => [r.sampleId, r.response, r.official])).toEqual(
      results.map((r) => [r.sampleId, r.response, r.official]),
    );
    // Compared with itself, every question agrees.
    const ag = agreement(results, back.results);
    expect(ag.both).toBe(samples.length);
    expect(ag.sameLetter).toBe(samples.length);
    expect(ag.onlyA + ag.onlyB).toBe(0);
  });

  it('never throws on garbage', () => {
    const run = importOfficialRun('x.bin', '\u0000\u0001{{{\n[1,2]\n"str"\nnull\n', samples);
    expect(run.results).toEqual([]);
    expect(run.messages).toHaveLength(4);
  });
});

describe('alignGroups', () => {
  it('puts B beside A by group key and nests domains and scenarios under L3', () => {
    const a = summarize(
      samples.map((s) => resultFrom(s, { response: `<answer>${s.gold}</answer>` })),
    );
    const b = summarize(
      [...l2, ...examples.samples].map((s) => resultFrom(s, { response: '<answer>A</answer>' })),
    );
    const rows = alignGroups(a, b, { scenarios: true, total: true });
    const keys = rows.map((r) => r.key);
    expect(keys[0]).toBe('all');
    expect(keys.slice(1, 4)).toEqual(['L1', 'L2', 'L3']);
    const domainKeys = keys.filter((k) => k.split(' / ').length === 2);
    for (const d of domainKeys) {
      const i = keys.indexOf(d);
      expect(keys[i + 1]?.startsWith(`${d} / `)).toBe(true); // its scenarios follow it
    }
    expect(rows.find((r) => r.key === 'L1')!.b).toBeUndefined();
    expect(rows.find((r) => r.key === 'L2')!.b?.byMode.official?.n).toBe(l2.length);
    expect(rows.find((r) => r.key === 'L3')!.a?.byMode.official?.accuracy).toBe(1);
    expect(
      alignGroups(a, null, { scenarios: false, total: false }).map((r) => r.depth),
    ).not.toContain(3);
  });
});

describe('mcnemarExactP', () => {
  it('matches the exact binomial test', () => {
    // Two-sided exact p for 2 vs 10 discordant pairs: 2 * P(X <= 2 | n=12, p=.5)
    // = 2 * (1 + 12 + 66) / 4096 = 0.0385742..., computed by hand.
    expect(mcnemarExactP(2, 10)).toBeCloseTo(79 / 2048, 12);
    expect(mcnemarExactP(10, 2)).toBeCloseTo(79 / 2048, 12);
    expect(mcnemarExactP(5, 5)).toBe(1);
    expect(mcnemarExactP(0, 0)).toBe(1);
    // Large n stays finite: 900 vs 1100 is far from even (normal approx z = 4.47, p ~ 8e-6).
    const p = mcnemarExactP(900, 1100);
    expect(p).toBeGreaterThan(1e-6);
    expect(p).toBeLessThan(2e-5);
  });
});

describe('small helpers', () => {
  it('orders results by the run and counts the rest', () => {
    const r = Object.fromEntries(
      samples.slice(0, 4).map((s) => [s.sampleId, resultFrom(s, { response: 'x' })]),
    );
    const { inRun, outside } = orderedResults([samples[2]!, samples[0]!, samples[9]!], r);
    expect(inRun.map((x) => x.sampleId)).toEqual([samples[2]!.sampleId, samples[0]!.sampleId]);
    expect(outside).toBe(2);
  });

  it('digests errors by message', () => {
    const rs = samples.slice(0, 5).map((s, i) =>
      resultFrom(s, {
        response: null,
        error: i < 4 ? { stage: 'clip', message: i < 3 ? 'missing' : 'bad' } : null,
      }),
    );
    expect(errorDigest(rs).map((e) => [e.message, e.count])).toEqual([
      ['missing', 3],
      ['bad', 1],
    ]);
  });
});
