import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { folderFileDigest } from '../scripts/model-folder';
import type { ModelHarness } from './harness/model';
import {
  FIXTURES,
  compareWith,
  fixture,
  fixtureRun,
  load,
  loadOutcome,
  openHarness,
  question,
  run,
  type Fixture,
  type Reference,
} from './model-fixtures';

// The hub-interface twin of the tiny model (models/tiny-random-qwen2-vl-hub*, built from the
// tiny model's own weights by scripts/export/make_twin.py during `npm run prepare:test-data`): the
// public onnx-community/Qwen2-VL-2B-Instruct interface (Conv3d patch embedding taking grid_thw, no
// num_logits_to_keep, one .onnx_data beside the graphs that have one there, 4-bit embed_tokens
// copies), loaded by the app as a real hub model would be.

const MODELS = resolve(import.meta.dirname, '../models');
const HUB = '/models/tiny-random-qwen2-vl-hub/';
const F16IO = '/models/tiny-random-qwen2-vl-hub-f16io/';
const CHUNKED = '/models/tiny-random-qwen2-vl-hub-chunked/';

interface TwinReference {
  graphs: Record<string, string>;
  cases: Record<string, Record<string, Reference>>;
}
const TWIN = JSON.parse(readFileSync(`${FIXTURES}/hub-twin.json`, 'utf8')) as TwinReference;
const STILL = fixture('still-sample5');
const SHORT_CLIP = fixture('clip-f71fb12c');

/** onnxruntime's CPU result on the twin's own graphs (scripts/hub-twin-reference.ts). */
function twinRef(fx: Fixture, key: string): Reference {
  const r = TWIN.cases[fx.case_id]?.[key];
  if (!r) throw new Error(`hub-twin.json has no ${fx.case_id} ${key}`);
  return r;
}

/**
 * Tolerances (absolute, on logits and log-probs):
 * - fp32 twin vs PyTorch: 1e-3, as for the tiny model (same weights; the twin's Conv3d and
 *   block-diagonal attention differ from ours by summation order only: onnxruntime CPU 4.5e-5).
 * - q4 twin vs onnxruntime CPU on the same q4 graphs: 1e-3, as for the tiny model's q4.
 * - float16-IO twin vs onnxruntime CPU on the same graphs: FP16_TOLERANCE, see its comment.
 */
const TOLERANCE = 1e-3;

test.beforeAll(() => {
  // The graphs the reference numbers were computed on are the ones served here.
  for (const [file, sha] of Object.entries(TWIN.graphs)) {
    const path = `${MODELS}/${file}`;
    if (!existsSync(path)) throw new Error(`${path} missing: run npm run prepare:test-data`);
    const got = createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(got, `${file}: rebuilt differently; rerun npx tsx scripts/hub-twin-reference.ts`).toBe(
      sha,
    );
  }
});

async function harness(page: Page) {
  await openHarness(page);
  return (a: Parameters<ModelHarness['load']>[0]) => loadOutcome(page, a);
}

test.describe('hub-interface twin', () => {
  test.setTimeout(400_000);

  test('fp32 on wasm: still and 6-frame clip match PyTorch with the same greedy tokens; chunked prefill, shared-cache likelihood', async ({
    page,
  }) => {
    await openHarness(page);
    const { info } = await load(page, { from: HUB, dtype: 'fp32', device: 'wasm', numThreads: 2 });
    expect(info.graphs).toMatchObject({
      logitsToKeep: false,
      pixelType: 'float32',
      embedsType: 'float32',
      cacheType: 'float32',
    });
    expect(info.files).toContain('onnx/decoder_model_merged.onnx_data');
    expect(info.files).toContain('onnx/vision_encoder.onnx_data');
    // The run identity's content digest covers every file loaded, the external data included: the
    // worker's digests (of the bytes transformers.js fetched) equal Node's of the files on disk.
    expect(info.content.files.map((f) => f.path).sort()).toEqual([...info.files].sort());
    for (const data of ['onnx/decoder_model_merged.onnx_data', 'onnx/vision_encoder.onnx_data']) {
      const onDisk = folderFileDigest(`${MODELS}/tiny-random-qwen2-vl-hub`, data);
      expect(onDisk?.size, data).toBeGreaterThan(0);
      expect(info.content.files.find((f) => f.path === data)).toEqual(onDisk);
    }
    for (const fx of [STILL, SHORT_CLIP]) {
      const out = await run(page, fixtureRun(fx, { checkLikelihood: true }));
      compareWith(out.result, fx, fx.pytorch, TOLERANCE, 'PyTorch', { greedy: true });
      // The clip's 447-token prompt went in 4 chunks; the uncached likelihood pass likewise.
      for (const l of ['A', 'B', 'C', 'D'] as const) {
        const d = Math.abs(
          (out.result.choiceNll?.[l] as number) - (out.result.choiceNllNoCache?.[l] as number),
        );
        expect(d, `likelihood ${l}, shared cache vs none`).toBeLessThan(1e-4);
      }
    }
  });

  test('dtype auto from a served URL and from a picked folder: device auto is wasm on SwiftShader; WebGPU by name, q4 without shader-f16, as onnxruntime computes it', async ({
    page,
  }) => {
    await openHarness(page);
    const ref = twinRef(STILL, 'tiny-random-qwen2-vl-hub:q4');
    // The defaults (dtype auto, device auto): SwiftShader is a software adapter, so wasm; the twin
    // has no q8 files (the public recipe's q4 only), so q4, after q8, and the reason says why.
    const defaults = await load(page, { from: HUB });
    expect([defaults.info.device, defaults.info.dtype]).toEqual(['wasm', 'q4']);
    expect(defaults.info.dtypeReason).toBe(
      'auto: q4, the wasm fallback after q8 (skipped q8: no onnx/embed_tokens_quantized.onnx)',
    );
    expect(defaults.info.deviceReason).toContain('is a software fallback, slower than wasm');
    // WebGPU asked for by name runs there (labelled slow): an adapter without shader-f16, so
    // dtype auto picks q4 (and the 4-bit embed copy).
    const url = await load(page, { from: HUB, device: 'webgpu' });
    expect(url.info.device).toBe('webgpu');
    expect(url.info.deviceSlow).toBe(true);
    expect(url.info.dtype).toBe('q4');
    expect(url.info.dtypeReason).toBe('auto: q4, the default for WebGPU without shader-f16');
    expect(url.info.graphDtypes).toEqual({
      embed_tokens: 'q4',
      vision_encoder: 'q4',
      decoder_model_merged: 'q4',
    });
    // SwiftShader takes seconds per decode step: official generation and letters, 3 tokens.
    const quick = {
      scoring: { official: true, letters: true, likelihood: false },
      logitsAt: ref.top20.map(([id]) => id),
    };
    const out = await run(page, fixtureRun(STILL, { ...quick, maxNewTokens: 3 }));
    const opts = { greedy: false, likelihood: false };
    compareWith(out.result, STILL, ref, TOLERANCE, 'onnxruntime CPU, twin q4', opts);
    expect(out.result.outputIds).toEqual(ref.greedy_ids.slice(0, 3));
    console.log(
      `served URL, dtype auto on WebGPU: load ${url.info.loadMs.toFixed(0)} ms, run ${JSON.stringify(out.result.timings)}`,
    );

    await page.setInputFiles('#model-folder', `${MODELS}/tiny-random-qwen2-vl-hub`);
    const folder = await load(page, { from: 'folder-input', device: 'webgpu' });
    expect(folder.info.source).toContain('tiny-random-qwen2-vl-hub');
    expect([folder.info.device, folder.info.dtype]).toEqual(['webgpu', 'q4']);
    const files = folder.events.filter((e) => e.kind === 'file');
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((e) => e.from === 'local')).toBe(true);
    const local = await run(page, fixtureRun(STILL, { ...quick, maxNewTokens: 1 }));
    compareWith(local.result, STILL, ref, TOLERANCE, 'onnxruntime CPU, twin q4', opts);
    expect(local.result.outputIds).toEqual(ref.greedy_ids.slice(0, 1));
    console.log(
      `picked folder, dtype auto on WebGPU: load ${folder.info.loadMs.toFixed(0)} ms, run ${local.result.timings.totalMs.toFixed(0)} ms`,
    );
  });

  test('q4 on wasm without generation_config.json: official decoding, 32 greedy tokens as onnxruntime', async ({
    page,
  }) => {
    await page.route('**/tiny-random-qwen2-vl-hub/generation_config.json', (r) =>
      r.fulfill({ status: 404 }),
    );
    await openHarness(page);
    const { info } = await load(page, { from: HUB, dtype: 'q4', device: 'wasm', numThreads: 2 });
    expect(info.generation).toEqual({
      repetitionPenalty: 1.05,
      stopIds: [151645, 151643],
      from: 'official defaults',
      notes: [],
    });
    expect(info.files).not.toContain('generation_config.json');
    for (const fx of [STILL, SHORT_CLIP]) {
      const ref = twinRef(fx, 'tiny-random-qwen2-vl-hub:q4');
      const out = await run(page, fixtureRun(fx, { logitsAt: ref.top20.map(([id]) => id) }));
      compareWith(out.result, fx, ref, TOLERANCE, 'onnxruntime CPU, twin q4', { greedy: true });
      const tinyQ4 = fx.onnx['q4']?.greedy_ids ?? [];
      const same = out.result.outputIds.filter((id, i) => id === tinyQ4[i]).length;
      console.log(
        `${fx.case_id}: twin q4 vs tiny q4 greedy ids: ${same} of ${tinyQ4.length} equal (the twin's Conv3d stays fp32)`,
      );
    }
  });

  /**
   * float16 graphs that DECLARE float16 inputs and outputs: the app casts pixel_values and
   * inputs_embeds to float16 itself and feeds the cache back as float16. vs onnxruntime CPU on the
   * same graphs (which got the same float16 inputs): both run the float16 nodes through casts to
   * float32 kernels, but in other fusion and summation orders, and every intermediate rounds to
   * float16 (step 2^-7 = 0.0078 at logits of 1..2, 0.031 at 4..8): FP16_TOLERANCE = 0.05 is
   * a few such steps; fp16 vs fp32 itself differs by 0.011-0.015 on these cases (fixtures).
   */
  test('float16-declared inputs and outputs (wasm): fp16 and q4f16 as onnxruntime computes them', async ({
    page,
  }) => {
    const FP16_TOLERANCE = 0.05;
    await openHarness(page);
    for (const dtype of ['fp16', 'q4f16'] as const) {
      const { info } = await load(page, { from: F16IO, dtype, device: 'wasm', numThreads: 2 });
      expect(info.graphs).toMatchObject({
        pixelType: 'float16',
        embedsType: 'float16',
        cacheType: 'float16',
      });
      const ref = twinRef(STILL, `tiny-random-qwen2-vl-hub-f16io:${dtype}`);
      const out = await run(
        page,
        fixtureRun(STILL, { maxNewTokens: 8, logitsAt: ref.top20.map(([id]) => id) }),
      );
      compareWith(
        out.result,
        STILL,
        ref,
        FP16_TOLERANCE,
        `onnxruntime CPU, float16-IO twin ${dtype}`,
        { greedy: false },
      );
      expect(out.result.outputIds).toEqual(ref.greedy_ids.slice(0, 8));
    }
  });

  test('an 845-token prompt without num_logits_to_keep (real clip, video worker): chunked prefill, peak wasm heap', async ({
    page,
  }) => {
    await openHarness(page);
    await load(page, { from: HUB, dtype: 'fp32', device: 'wasm', numThreads: 2 });
    const warm = await run(page, fixtureRun(STILL, { maxNewTokens: 2 }));
    const fx = fixture('clip-c847fafa');
    const out = await run(page, {
      ...question(fx),
      clipUrl: `/test-files/clips/${fx.clip}`,
      clipValues: 'float', // the fixtures' torchvision resize on float frames
      scoring: { official: true, letters: true, likelihood: true },
      maxNewTokens: 32,
      logitsAt: fx.pytorch.top20.map(([id]) => id),
    });
    compareWith(out.result, fx, fx.pytorch, TOLERANCE, 'PyTorch', { greedy: true });
    const t = out.result.timings;
    const mib = (b: number | null) => (b === null ? 'n/a' : `${(b / 2 ** 20).toFixed(0)} MiB`);
    const allLogits = t.promptTokens * 151936 * 4;
    console.log(
      `clip-c847fafa: ${t.promptTokens} prompt tokens, prefill ${t.prefillMs.toFixed(0)} ms in chunks of 128; ` +
        `wasm heap after a 196-token question ${mib(warm.result.timings.wasmHeapBytes)}, after this one ${mib(t.wasmHeapBytes)} ` +
        `(peak; every position's logits at once would be ${mib(allLogits)}); JS heap ${mib(t.jsHeapBytes)}`,
    );
    expect(t.promptTokens).toBe(845);
    expect(t.wasmHeapBytes).not.toBeNull();
    // The all-position logits (513 MiB here) never sat in the heap: it grew by less than that.
    expect(
      (t.wasmHeapBytes as number) - (warm.result.timings.wasmHeapBytes as number),
    ).toBeLessThan(allLogits);
  });

  /**
   * The fp32 twin with embed_tokens written as 3 row chunks (scripts/export's per-tensor limit,
   * forced to 3.5 MB; a 7B's 2.18 GB table is split so at the default 1.9 GB): the chunked lookup is
   * the whole table's bit for bit (scripts/export.test.ts), so the run is the fp32 twin's: PyTorch's
   * numbers within the twin's tolerance and its 32 greedy tokens on wasm; on WebGPU (SwiftShader,
   * asked for by name) the same lookup runs through onnxruntime's WebGPU EP: 3 tokens.
   */
  test('embed_tokens as row chunks in 3 data files: wasm reproduces PyTorch with the same greedy tokens; WebGPU runs it too', async ({
    page,
  }) => {
    await openHarness(page);
    const noLikelihood = { official: true, letters: true, likelihood: false };
    const opts = { greedy: true, likelihood: false };
    const wasm = await load(page, { from: CHUNKED, dtype: 'fp32', device: 'wasm', numThreads: 2 });
    expect(wasm.info.files).toEqual(
      expect.arrayContaining([
        'onnx/embed_tokens.onnx_data',
        'onnx/embed_tokens.onnx_data_1',
        'onnx/embed_tokens.onnx_data_2',
      ]),
    );
    const out = await run(page, fixtureRun(STILL, { scoring: noLikelihood }));
    compareWith(out.result, STILL, STILL.pytorch, TOLERANCE, 'PyTorch', opts);

    const gpu = await load(page, { from: CHUNKED, dtype: 'fp32', device: 'webgpu' });
    expect([gpu.info.device, gpu.info.graphDtypes.embed_tokens]).toEqual(['webgpu', 'fp32']);
    const quick = await run(page, fixtureRun(STILL, { scoring: noLikelihood, maxNewTokens: 3 }));
    compareWith(quick.result, STILL, STILL.pytorch, TOLERANCE, 'PyTorch', {
      ...opts,
      greedy: false,
    });
    expect(quick.result.outputIds).toEqual(STILL.pytorch.greedy_ids.slice(0, 3));
  });

  test('refusals name what does not fit: a file over the browser limit, a graph of another interface', async ({
    page,
  }) => {
    // The public 2B's fp32 decoder weights: one 6.17 GB .onnx_data (as its HEAD reports it).
    await page.route('**/tiny-random-qwen2-vl-hub/onnx/decoder_model_merged.onnx_data', (r) =>
      r.request().method() === 'HEAD'
        ? r.fulfill({ status: 200, headers: { 'x-linked-size': '6170000000' } })
        : r.continue(),
    );
    // A graph that is not a vision encoder where the q4 one should be.
    await page.route('**/tiny-random-qwen2-vl-hub/onnx/vision_encoder_q4.onnx', (r) =>
      r.fulfill({
        body: readFileSync(`${MODELS}/tiny-random-qwen2-vl/onnx/embed_tokens_quantized.onnx`),
      }),
    );
    const tryLoad = await harness(page);
    const big = await tryLoad({ from: HUB, dtype: 'fp32', device: 'wasm' });
    expect(big).toMatchObject({
      ok: false,
      error: { code: 'too-large', file: 'onnx/decoder_model_merged.onnx_data' },
    });
    if (!big.ok) {
      expect(big.error.message).toBe(
        'fp32 cannot load here: onnx/decoder_model_merged.onnx_data is 5.75 GiB, over the 2.00 GiB a browser holds in one file; pick q4 instead (14.5 MiB in all)',
      );
    }
    const other = await tryLoad({ from: HUB, dtype: 'q4', device: 'wasm' });
    expect(other).toMatchObject({
      ok: false,
      error: { code: 'bad-interface', file: 'onnx/vision_encoder_q4.onnx' },
    });
    if (!other.ok) {
      expect(other.error.message).toContain(
        'vision_encoder (onnx/vision_encoder_q4.onnx): has no input "pixel_values" (declares input_ids)',
      );
    }
  });
});
