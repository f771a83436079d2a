import { expect, test } from '@playwright/test';
import type { ModelHarness } from './harness/model';
import {
  ALL_SCORING,
  compare,
  fixture,
  fixtureRun,
  load,
  loadOutcome,
  MODEL_DIR,
  MODEL_URL,
  openHarness,
  question,
  requests,
  run,
  type Reference,
} from './model-fixtures';

// The model stage in real Chromium: transformers.js + onnxruntime-web in the model worker, on the
// committed tiny Qwen2-VL export, against the PyTorch / onnxruntime reference fixtures. The tiny
// folder also has fast graphs (onnx/fast.json), so these loads ask for the reference engine; the
// fast engine's parity is e2e/fast.spec.ts.

const STILL = fixture('still-sample5');
const SHORT_CLIP = fixture('clip-f71fb12c'); // 99 frames -> 6 sampled; its frames are committed PNGs

test.describe('tiny Qwen2-VL vs the reference, wasm', () => {
  test.setTimeout(300_000);

  test('fp32: still-only and 6-frame clip questions match PyTorch, greedy tokens identical', async ({
    page,
  }) => {
    await openHarness(page);
    const { info } = await load(page, {
      from: MODEL_URL,
      engine: 'reference',
      dtype: 'fp32',
      device: 'wasm',
      numThreads: 2,
    });
    expect(info.device).toBe('wasm');
    for (const fx of [STILL, SHORT_CLIP]) {
      const out = await run(page, fixtureRun(fx, { checkLikelihood: true }));
      compare(out.result, fx, 'fp32', { greedy: true });
      // Likelihood scores on the shared prompt cache equal one full pass per choice without it
      // (same fp32 arithmetic, other matmul shapes: 1e-4 covers the summation-order noise).
      const nllDiffs = (['A', 'B', 'C', 'D'] as const).map((l) =>
        Math.abs(
          (out.result.choiceNll?.[l] as number) - (out.result.choiceNllNoCache?.[l] as number),
        ),
      );
      console.log(
        `${fx.case_id} likelihood, shared cache vs none: max |diff| ${Math.max(...nllDiffs).toExponential(2)}`,
      );
      for (const l of ['A', 'B', 'C', 'D'] as const) {
        const cached = out.result.choiceNll?.[l] as number;
        expect(Math.abs(cached - (out.result.choiceNllNoCache?.[l] as number)), l).toBeLessThan(
          1e-4,
        );
      }
      expect(out.result.stopReason).toBe('max-tokens');
      expect(out.streamed).toBe(32);
      console.log(`${fx.case_id} fp32 wasm timings ${JSON.stringify(out.result.timings)}`);
    }
    // Everything, ORT's wasm binary included, came from this origin: nothing from a CDN.
    const urls = requests.get(page) ?? [];
    expect(urls.some((u) => /\/ort-wasm-simd-threaded\.asyncify[-\w]*\.wasm$/.test(u))).toBe(true);
    expect(urls.filter((u) => !/^(https?:\/\/127\.0\.0\.1:|blob:|data:)/.test(u))).toEqual([]);
  });

  for (const dtype of ['q4', 'q8'] as const) {
    test(`${dtype}: matches onnxruntime on the same ${dtype} graphs`, async ({ page }) => {
      await openHarness(page);
      const { info } = await load(page, {
        from: MODEL_URL,
        engine: 'reference',
        dtype,
        device: 'wasm',
        numThreads: 2,
      });
      // The tiny export ships embed_tokens only in fp32 and q8 (a Gather has no 4-bit form).
      expect(info.graphDtypes.decoder_model_merged).toBe(dtype);
      for (const fx of [STILL, SHORT_CLIP]) {
        const ref = fx.onnx[dtype] as Reference;
        const out = await run(page, fixtureRun(fx, { logitsAt: ref.top20.map(([id]) => id) }));
        // q8 greedy ids are not asserted: its tolerance exceeds the gap between some candidates.
        compare(out.result, fx, dtype, { greedy: dtype === 'q4' });
      }
    });
  }

  test('cancel stops decoding and keeps the partial output', async ({ page }) => {
    await openHarness(page);
    await load(page, {
      from: MODEL_URL,
      engine: 'reference',
      dtype: 'fp32',
      device: 'wasm',
      numThreads: 2,
    });
    const out = await run(page, fixtureRun(STILL, { cancelAfter: 3 }));
    expect(out.result.stopReason).toBe('cancelled');
    expect(out.result.outputIds.length).toBeGreaterThanOrEqual(3);
    expect(out.result.outputIds.length).toBeLessThan(32);
    expect(out.result.outputIds).toEqual(
      STILL.pytorch.greedy_ids.slice(0, out.result.outputIds.length),
    );
    expect(out.result.choiceNll).toBeUndefined();
  });
});

test.describe('tiny Qwen2-VL vs the reference, WebGPU (SwiftShader)', () => {
  test.setTimeout(540_000);

  test('fp32 and q4: still-only question', async ({ page }) => {
    await openHarness(page);
    const { info } = await load(page, {
      from: MODEL_URL,
      engine: 'reference',
      dtype: 'fp32',
      device: 'webgpu',
    });
    expect(info.device).toBe('webgpu');
    expect(info.deviceReason).toContain('WebGPU adapter');
    const out = await run(page, fixtureRun(STILL));
    compare(out.result, STILL, 'fp32', { greedy: true });
    console.log(`still fp32 webgpu timings ${JSON.stringify(out.result.timings)}`);

    await load(page, { from: MODEL_URL, engine: 'reference', dtype: 'q4', device: 'webgpu' });
    const ref = STILL.onnx['q4'] as Reference;
    const q4 = await run(
      page,
      fixtureRun(STILL, { maxNewTokens: 8, logitsAt: ref.top20.map(([id]) => id) }),
    );
    compare(q4.result, STILL, 'q4', { greedy: false });
    expect(q4.result.outputIds).toEqual(ref.greedy_ids.slice(0, 8));
  });

  test('a lost GPU device: the worker reloads on wasm, says so, and the question still runs', async ({
    page,
  }) => {
    await openHarness(page);
    // dtype auto: q4 on SwiftShader (no shader-f16); the reload keeps the dtype that ran.
    const { info } = await load(page, { from: MODEL_URL, engine: 'reference', device: 'webgpu' });
    expect([info.device, info.dtype]).toEqual(['webgpu', 'q4']);
    const lost = await page.evaluate(() =>
      (window as unknown as { modelHarness: ModelHarness }).modelHarness.loseDevice(),
    );
    expect(lost).toBe(true);
    const ref = STILL.onnx['q4'] as Reference;
    const out = await run(
      page,
      fixtureRun(STILL, { maxNewTokens: 2, logitsAt: ref.top20.map(([id]) => id) }),
    );
    expect([out.result.device, out.result.dtype]).toEqual(['wasm', 'q4']);
    compare(out.result, STILL, 'q4', { greedy: false });
    const fallbacks = await page.evaluate(
      () => (window as unknown as { modelHarness: ModelHarness }).modelHarness.fallbacks,
    );
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toContain('device lost');
  });

  test('fp16 variants need shader-f16: auto falls back to wasm and says why', async ({ page }) => {
    await openHarness(page);
    // The tiny export has a q4f16 vision encoder (its q4f16 decoder is not committed).
    const { info, events } = await load(page, {
      from: MODEL_URL,
      engine: 'reference',
      dtype: 'q4',
      graphDtypes: { vision_encoder: 'q4f16' },
      device: 'auto',
    });
    // SwiftShader offers an adapter but no shader-f16: wasm, and the reason is given.
    expect(info.device).toBe('wasm');
    expect(info.graphDtypes).toEqual({
      embed_tokens: 'fp32',
      vision_encoder: 'q4f16',
      decoder_model_merged: 'q4',
    });
    expect(events.find((e) => e.kind === 'device')).toMatchObject({
      kind: 'device',
      device: 'wasm',
      reason: expect.stringContaining('shader-f16'),
    });
    // And it runs: the q4f16 encoder's features differ from q4's by fp16 rounding only.
    const ref = STILL.onnx['q4'] as Reference;
    const out = await run(
      page,
      fixtureRun(STILL, { maxNewTokens: 2, logitsAt: ref.top20.map(([id]) => id) }),
    );
    expect(out.result.inputIds).toEqual(STILL.input_ids);
  });
});

test.describe('end to end', () => {
  test.setTimeout(300_000);

  test('EgoPlan-Bench2 examples: real clip -> video worker -> model worker, official 256-token decoding', async ({
    page,
  }) => {
    await openHarness(page);
    await load(page, {
      from: MODEL_URL,
      engine: 'reference',
      dtype: 'fp32',
      device: 'wasm',
      numThreads: 2,
    });
    for (const id of ['clip-c847fafa', 'clip-17be1d0a']) {
      const fx = fixture(id);
      const out = await run(page, {
        ...question(fx),
        clipUrl: `/test-files/clips/${fx.clip}`,
        clipValues: 'float', // the fixtures' torchvision resize on float frames
        scoring: ALL_SCORING,
        logitsAt: fx.pytorch.top20.map(([id]) => id),
      });
      expect(out.clipIndices).toEqual(fx.indices);
      // Same tolerance as fp32: the video stage reproduces the reference pixels (float32 rounding).
      compare(out.result, fx, 'fp32', { greedy: false });
      expect(out.result.outputIds.slice(0, 32)).toEqual(fx.pytorch.greedy_ids);
      expect(out.result.outputIds.length).toBeLessThanOrEqual(256);
      const t = out.result.timings;
      const v = out.videoTimings ?? {};
      console.log(
        [
          `${fx.case_id} (${fx.sample_id}), ${t.promptTokens} prompt tokens, ${out.result.outputIds.length} new, stop ${out.result.stopReason}`,
          `  frames: demux ${v['demuxMs']?.toFixed(0)} ms, decode ${v['decodeMs']?.toFixed(0)} ms, convert ${v['convertMs']?.toFixed(0)} ms, resize ${v['resizeMs']?.toFixed(0)} ms, total ${v['totalMs']?.toFixed(0)} ms`,
          `  model: frame prep ${t.framePrepMs.toFixed(0)} ms, vision ${t.visionMs.toFixed(0)} ms, prefill ${t.prefillMs.toFixed(0)} ms, TTFT ${t.timeToFirstTokenMs?.toFixed(0)} ms, decode ${t.decodeTokensPerS?.toFixed(1)} tok/s, letters ${t.letterMs.toFixed(0)} ms, likelihood ${t.likelihoodMs.toFixed(0)} ms, total ${t.totalMs.toFixed(0)} ms`,
          `  letter log-probs ${JSON.stringify(out.result.letterLogprobs)}; choice NLL ${JSON.stringify(out.result.choiceNll)}`,
          `  gold ${out.scores.gold}: official reward ${out.scores.official.reward} (answer tag ${JSON.stringify(out.scores.official.answer)}), first-token letter ${out.scores.letter}, likelihood ${out.scores.likelihood}; KV cache ${(t.kvCacheBytes / 1024).toFixed(0)} KiB`,
        ].join('\n'),
      );
      // Scored by the benchmark's own rules: the random tiny model writes no <answer> tag.
      expect(out.scores.official.reward).toBe(0);
      expect(out.scores.letter).toMatch(/^[ABCD]$/);
      expect(out.scores.likelihood).toMatch(/^[ABCD]$/);
    }
  });
});

test.describe('model sources', () => {
  test.setTimeout(300_000);

  test('a picked folder loads from local files', async ({ page }) => {
    await openHarness(page);
    await page.setInputFiles('#model-folder', MODEL_DIR);
    const { info, events } = await load(page, {
      from: 'folder-input',
      engine: 'reference',
      dtype: 'q4',
      device: 'wasm',
    });
    expect(info.source).toContain('tiny-random-qwen2-vl');
    const files = events.filter((e) => e.kind === 'file');
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((e) => e.from === 'local')).toBe(true);
    const ref = STILL.onnx['q4'] as Reference;
    const out = await run(
      page,
      fixtureRun(STILL, { maxNewTokens: 4, logitsAt: ref.top20.map(([id]) => id) }),
    );
    compare(out.result, STILL, 'q4', { greedy: false });
  });

  test('a directory handle (File System Access API) loads', async ({ page }) => {
    await openHarness(page);
    const files = [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'preprocessor_config.json', // read and checked against the protocol at load
      'generation_config.json',
      'onnx/embed_tokens.onnx',
      'onnx/vision_encoder_q4.onnx',
      'onnx/decoder_model_merged_q4.onnx',
    ];
    await page.evaluate(
      (f) =>
        (window as unknown as { modelHarness: ModelHarness }).modelHarness.copyToOpfs(
          '/models/tiny-random-qwen2-vl/',
          f,
          'tiny',
        ),
      files,
    );
    const { info, events } = await load(page, {
      from: 'opfs:tiny',
      engine: 'reference',
      dtype: 'q4',
      device: 'wasm',
    });
    expect(info.source).toBe('folder "tiny"');
    expect(events.filter((e) => e.kind === 'file').every((e) => e.from === 'local')).toBe(true);
    const ref = STILL.onnx['q4'] as Reference;
    const out = await run(
      page,
      fixtureRun(STILL, { maxNewTokens: 2, logitsAt: ref.top20.map(([id]) => id) }),
    );
    compare(out.result, STILL, 'q4', { greedy: false });
    // The same folder without its q4 decoder: the missing file is named.
    await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const onnx = await (await root.getDirectoryHandle('tiny')).getDirectoryHandle('onnx');
      await onnx.removeEntry('decoder_model_merged_q4.onnx');
    });
    const missing = await loadOutcome(page, {
      from: 'opfs:tiny',
      engine: 'reference',
      dtype: 'q4',
      device: 'wasm',
    });
    expect(missing).toMatchObject({
      ok: false,
      error: { code: 'missing-file', file: 'onnx/decoder_model_merged_q4.onnx' },
    });
  });

  test('a URL download is cached and then loads offline', async ({ page }) => {
    await openHarness(page);
    await page.evaluate(() => caches.delete('seedbench-models-v1'));
    const first = await load(page, {
      from: MODEL_URL,
      engine: 'reference',
      dtype: 'q4',
      device: 'wasm',
      cache: true,
    });
    const quota = first.events.find((e) => e.kind === 'quota');
    expect(quota).toMatchObject({ kind: 'quota', caching: true });
    const decoder = 'onnx/decoder_model_merged_q4.onnx';
    const net = first.events.filter((e) => e.kind === 'file' && e.file === decoder && e.done);
    expect(net).toMatchObject([{ from: 'network', total: expect.any(Number) }]);
    // Offline: every model request fails, and the cache still serves the model.
    await page.route('**/models/**', (route) => route.abort('internetdisconnected'));
    // q4 also shows that the fp32 embed_tokens is found offline (no embed_tokens_q4 to probe).
    const second = await load(page, {
      from: MODEL_URL,
      engine: 'reference',
      dtype: 'q4',
      device: 'wasm',
      cache: true,
    });
    const fromCache = second.events.filter((e) => e.kind === 'file' && e.done);
    expect(fromCache.length).toBeGreaterThan(0);
    expect(fromCache.every((e) => e.kind === 'file' && e.from === 'cache')).toBe(true);
    const out = await run(
      page,
      fixtureRun(STILL, {
        maxNewTokens: 2,
        logitsAt: (STILL.onnx['q4'] as Reference).top20.map(([id]) => id),
      }),
    );
    compare(out.result, STILL, 'q4', { greedy: false });
    await page.evaluate(() => caches.delete('seedbench-models-v1'));
  });
});

const QWEN_CONFIG = {
  model_type: 'qwen2_vl',
  architectures: ['Qwen2VLForConditionalGeneration'],
  image_token_id: 151655,
  video_token_id: 151656,
  vision_start_token_id: 151652,
  vision_config: { spatial_merge_size: 2 },
};

test.describe('model loading errors', () => {
  test('a config of another architecture is refused by name', async ({ page }) => {
    await page.route('**/fake-model/**', (route) =>
      route.request().url().endsWith('/config.json')
        ? route.fulfill({
            json: { ...QWEN_CONFIG, model_type: 'llama', architectures: ['LlamaForCausalLM'] },
          })
        : route.fulfill({ status: 404 }),
    );
    await openHarness(page);
    const out = await loadOutcome(page, {
      from: '/fake-model/',
      dtype: 'fp32',
      device: 'wasm',
    });
    expect(out).toMatchObject({ ok: false, error: { code: 'wrong-architecture' } });
    if (!out.ok) expect(out.error.message).toContain('llama');
  });

  test('a model missing a file names the file', async ({ page }) => {
    // The real tiny model, minus its q4 decoder.
    await page.route('**/models/tiny-random-qwen2-vl/onnx/decoder_model_merged_q4.onnx', (route) =>
      route.fulfill({ status: 404 }),
    );
    await openHarness(page);
    const out = await loadOutcome(page, {
      from: '/models/tiny-random-qwen2-vl/',
      engine: 'reference',
      dtype: 'q4',
      device: 'wasm',
    });
    expect(out).toMatchObject({
      ok: false,
      error: { code: 'missing-file', file: 'onnx/decoder_model_merged_q4.onnx' },
    });
  });

  test('an unreachable model file is a download error naming the file', async ({ page }) => {
    await page.route('**/models/tiny-random-qwen2-vl/onnx/vision_encoder_q4.onnx', (route) =>
      route.abort('internetdisconnected'),
    );
    await openHarness(page);
    const out = await loadOutcome(page, {
      from: '/models/tiny-random-qwen2-vl/',
      engine: 'reference',
      dtype: 'q4',
      device: 'wasm',
    });
    expect(out).toMatchObject({
      ok: false,
      error: { code: 'download-failed', file: 'onnx/vision_encoder_q4.onnx' },
    });
  });

  test('a bad question is reported and the model keeps working', async ({ page }) => {
    await openHarness(page);
    await load(page, { from: MODEL_URL, engine: 'reference', dtype: 'q4', device: 'wasm' });
    // A clip question that arrives without clip frames: refused by name, the worker lives on.
    const bad = await page.evaluate(
      (a) => (window as unknown as { modelHarness: ModelHarness }).modelHarness.run(a),
      { ...fixtureRun(SHORT_CLIP), clipPngs: [], maxNewTokens: 2 },
    );
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad-visuals' } });
    if (!bad.ok) expect(bad.error.message).toContain(String(SHORT_CLIP.sample_id));
    const ref = STILL.onnx['q4'] as Reference;
    const good = await run(
      page,
      fixtureRun(STILL, { maxNewTokens: 2, logitsAt: ref.top20.map(([id]) => id) }),
    );
    compare(good.result, STILL, 'q4', { greedy: false });
  });
});
