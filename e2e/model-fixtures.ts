// Shared by the model-stage browser tests (model, hub-twin, fast): the reference fixtures, the harness page, and the
// comparison of a run with a reference (PyTorch, or onnxruntime on the same graphs).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, type Page } from '@playwright/test';
import type { LoadArgs, LoadOutcome, ModelHarness, RunArgs, RunOutcome } from './harness/model';

export const FIXTURES = resolve(import.meta.dirname, 'fixtures/reference');
export const SHARED = resolve(import.meta.dirname, '../../shared/seedbench');
export const MODEL_URL = '/models/tiny-random-qwen2-vl/';
export const MODEL_DIR = resolve(import.meta.dirname, '../models/tiny-random-qwen2-vl');

export interface Reference {
  top20: [number, number][];
  letter_logprobs: Record<'A' | 'B' | 'C' | 'D', number>;
  greedy_ids: number[];
}

export interface Fixture {
  case_id: string;
  sample_id: string | number;
  clip: string | null;
  indices?: number[];
  still_252_png: string;
  input_ids: number[];
  pytorch: Reference;
  onnx: Record<string, Reference>;
}

export type RunResult = Extract<RunOutcome, { ok: true }>['value']['result'];

/** The fast graphs' own onnxruntime (CPU) outputs for a case (scripts/fast-fixtures.ts). */
/** q4a8: the q4 graphs with int8 activations (the a8 graphs, onnxruntime accuracy_level 4). */
export function fastFixture(id: string, dtype: 'fp32' | 'q4' | 'q8' | 'q4a8'): Reference {
  const all = JSON.parse(
    readFileSync(resolve(import.meta.dirname, `fixtures/fast/${id}.json`), 'utf8'),
  ) as Record<string, Reference>;
  const ref = all[dtype];
  if (!ref) throw new Error(`fixtures/fast/${id}.json has no ${dtype}`);
  return ref;
}

export function fixture(id: string): Fixture {
  return JSON.parse(readFileSync(`${FIXTURES}/${id}.json`, 'utf8')) as Fixture;
}

/** The question record as the app reads it: examples.jsonl for clips, EgoPlan validation for stills. */
export function question(fx: Fixture): Pick<RunArgs, 'file' | 'record' | 'wording'> {
  if (fx.clip) {
    const line = readFileSync(`${SHARED}/egoplan-bench2-examples/examples.jsonl`, 'utf8')
      .split('\n')
      .find((l) => l.includes(`"${String(fx.sample_id)}"`));
    if (!line) throw new Error(`no record for ${fx.sample_id}`);
    return { file: 'examples.jsonl', record: line, wording: 'as-is' };
  }
  const all = JSON.parse(readFileSync(`${SHARED}/EgoPlan_validation.json`, 'utf8')) as {
    sample_id: number;
  }[];
  // The still-only fixture uses SEED-Bench-R1's wording ("... shown in the image").
  return {
    file: 'EgoPlan_validation.json',
    record: JSON.stringify([all.find((r) => r.sample_id === fx.sample_id)]),
    wording: 'seed-bench-r1',
  };
}

/** Visual inputs of a fixture: its committed PNGs (reference-decoded frames, 252x252 still). */
export function pngVisuals(fx: Fixture): Pick<RunArgs, 'clipPngs' | 'stillPng'> {
  const frames = fx.clip
    ? (fx.indices ?? []).map(
        (ix, i) =>
          `/test-files/fixtures/${fx.case_id}/frame_${String(i).padStart(2, '0')}_src${String(ix).padStart(4, '0')}.png`,
      )
    : null;
  return { clipPngs: frames, stillPng: `/test-files/fixtures/${fx.still_252_png}` };
}

/** Every request of a page (its workers' included). */
export const requests = new WeakMap<Page, string[]>();

export async function openHarness(page: Page) {
  const seen: string[] = [];
  requests.set(page, seen);
  page.on('request', (r) => seen.push(r.url()));
  // Test data reaches the page as real bytes read here (nothing under ../shared is served).
  await page.route('**/test-files/**', (route) => {
    const path = decodeURIComponent(
      new URL(route.request().url()).pathname.split('/test-files/')[1] ?? '',
    );
    const file = path.startsWith('fixtures/')
      ? `${FIXTURES}/${path.slice('fixtures/'.length)}`
      : `${SHARED}/egoplan-bench2-examples/${path.slice('clips/'.length)}`;
    return route.fulfill({ body: readFileSync(file) });
  });
  await page.goto('/e2e/harness/model.html');
  await page.waitForFunction(
    () => (window as unknown as { modelHarness?: ModelHarness }).modelHarness?.ready,
  );
}

/** The harness's load outcome as it is (refusals included). */
export function loadOutcome(page: Page, args: LoadArgs): Promise<LoadOutcome> {
  return page.evaluate(
    (a) => (window as unknown as { modelHarness: ModelHarness }).modelHarness.load(a),
    args,
  );
}

export async function load(
  page: Page,
  args: LoadArgs,
): Promise<Extract<LoadOutcome, { ok: true }>['value']> {
  const out = await loadOutcome(page, args);
  if (!out.ok) throw new Error(`load failed: ${out.error.code}: ${out.error.message}`);
  return out.value;
}

export async function run(
  page: Page,
  args: RunArgs,
): Promise<Extract<RunOutcome, { ok: true }>['value']> {
  const out = await page.evaluate(
    (a) => (window as unknown as { modelHarness: ModelHarness }).modelHarness.run(a),
    args,
  );
  if (!out.ok) throw new Error(`run failed: ${out.error.code}: ${out.error.message}`);
  return out.value;
}

export const ALL_SCORING = { official: true, letters: true, likelihood: true };

/**
 * Assert a run against a reference: same input_ids, top-20 logits and A-D log-probs within `tol`,
 * optionally the same greedy ids, and four finite likelihood scores. Logs the differences.
 */
export function compareWith(
  result: RunResult,
  fx: Fixture,
  ref: Reference,
  tol: number,
  label: string,
  opts: { greedy: boolean; likelihood?: boolean },
) {
  expect(result.inputIds).toEqual(fx.input_ids);
  const at = result.logitsAt ?? [];
  const logitDiffs = ref.top20.map(([, value], i) => Math.abs((at[i] as number) - value));
  const letterDiffs = (['A', 'B', 'C', 'D'] as const).map((l) =>
    Math.abs((result.letterLogprobs?.[l] as number) - ref.letter_logprobs[l]),
  );
  const n = Math.min(result.outputIds.length, ref.greedy_ids.length);
  const greedySame = result.outputIds.slice(0, n).every((id, i) => id === ref.greedy_ids[i]);
  console.log(
    `${fx.case_id} ${result.dtype} on ${result.device}: max |diff| top-20 logits ${Math.max(...logitDiffs).toExponential(2)}, ` +
      `letter log-probs ${Math.max(...letterDiffs).toExponential(2)} (tolerance ${tol}); ` +
      `first ${n} greedy ids ${greedySame ? 'equal' : 'DIFFER'} vs ${label}`,
  );
  logitDiffs.forEach((d, i) => expect(d, `logit of token ${ref.top20[i]?.[0]}`).toBeLessThan(tol));
  letterDiffs.forEach((d, i) => expect(d, `letter ${'ABCD'[i]}`).toBeLessThan(tol));
  if (opts.greedy) expect(result.outputIds).toEqual(ref.greedy_ids);
  // The likelihood ranking ran and gave four finite scores.
  if (opts.likelihood !== false) {
    expect(Object.values(result.choiceNll ?? {}).filter(Number.isFinite)).toHaveLength(4);
  }
}

/**
 * Tolerances of the tiny model's runs (absolute, on logits and on log-probs), both engines:
 * - fp32 vs PyTorch: 1e-3. ORT's and torch's fp32 kernels differ only in summation order; onnxruntime
 *   Python is within 1e-5 of PyTorch on these inputs (fixture), wasm measured within 5e-5, and
 *   WebGPU (SwiftShader, different reduction order and exp) within 6e-4.
 * - q4 vs onnxruntime Python on the same q4 graphs: 1e-3. MatMulNBits dequantises the same 4-bit
 *   weights and accumulates in fp32 in both runtimes (measured 5e-5 on wasm).
 * - q8 vs onnxruntime Python on the same q8 graphs: 0.5. q8 quantises activations at run time
 *   (DynamicQuantizeLinear); the two runtimes may put a value in the neighbouring 8-bit step, and
 *   that moves logits by up to q8's own error: q8 vs fp32 differs by 0.50-0.69 on these cases
 *   (fixtures' max_abs_logit_diff_last). Measured here: 0.24 (top-20 logits), 0.083 (letters).
 */
export const TOLERANCE = { fp32: 1e-3, q4: 1e-3, q8: 0.5 } as const;

/** compareWith against the fixture's entry for `dtype`: PyTorch for fp32, else onnxruntime's. */
export function compare(
  result: RunResult,
  fx: Fixture,
  dtype: keyof typeof TOLERANCE,
  opts: { greedy: boolean },
) {
  const ref = dtype === 'fp32' ? fx.pytorch : fx.onnx[dtype];
  if (!ref) throw new Error(`${fx.case_id} has no onnxruntime ${dtype} entry`);
  compareWith(
    result,
    fx,
    ref,
    TOLERANCE[dtype],
    dtype === 'fp32' ? 'PyTorch' : `onnxruntime ${dtype}`,
    opts,
  );
}

/** Run arguments for a fixture case: its question, its PNG visuals, every scoring pass. */
export function fixtureRun(fx: Fixture, extra: Partial<RunArgs> = {}): RunArgs {
  return {
    ...question(fx),
    ...pngVisuals(fx),
    scoring: ALL_SCORING,
    maxNewTokens: 32, // the fixtures' greedy length
    logitsAt: fx.pytorch.top20.map(([id]) => id),
    ...extra,
  };
}
