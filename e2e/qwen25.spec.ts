import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import type { ModelHarness } from './harness/model';
import {
  compare,
  compareWith,
  fixture,
  fixtureRun,
  load,
  MODEL_DIR,
  openHarness,
  run,
  type Fixture,
  type Reference,
  type RunResult,
  TOLERANCE,
} from './model-fixtures';

// The tiny Qwen2.5-VL (models/tiny-random-qwen2_5-vl: its own windowed vision graph, the tiny
// Qwen2-VL's text graphs) in real Chromium against the PyTorch reference of transformers'
// modeling_qwen2_5_vl (e2e/fixtures/reference-qwen25, scripts/export/reference_qwen25_local.py),
// on both engines: the reference one (transformers.js) and the fast one (the tiny Qwen2-VL's fast
// decoder graph, shared, fed Qwen2.5-VL's time-scaled M-RoPE tables; the model's own reference
// vision graph per slice, as its onnx/fast.json lists it). Same tolerances for both (model-fixtures.ts).
// The prompts, input_ids and visuals are the Qwen2-VL fixtures' (same processor, same template), so
// those fixtures' PNGs feed the run; only the PyTorch numbers differ. The 6-frame clip is the case
// that proves the absolute time: its temporal ids are 0, 2, 4 (Qwen2-VL's rule gives 0, 1, 2).

const MODEL_URL = '/models/tiny-random-qwen2_5-vl/';
const Q25 = resolve(import.meta.dirname, 'fixtures/reference-qwen25');

interface Q25Fixture {
  N: number | null;
  fps: number | null;
  pytorch: Reference;
  position_ids: number[][];
  time?: { second_per_grid_ts: number; tokens_per_second: number };
}

/** Run arguments: the fixture's, with its source clip's N and fps (what the video stage reports). */
function run25(fx: Fixture & { q25: Q25Fixture }) {
  const { N, fps } = fx.q25;
  return fixtureRun(fx, N !== null && fps !== null ? { clipTiming: { frameCount: N, fps } } : {});
}

/** A Qwen2-VL fixture (question, ids, PNGs) with the Qwen2.5-VL PyTorch reference in place. */
function fixture25(id: string): Fixture & { q25: Q25Fixture } {
  const q25 = JSON.parse(readFileSync(`${Q25}/${id}.json`, 'utf8')) as Q25Fixture;
  return { ...fixture(id), pytorch: q25.pytorch, onnx: {}, q25 };
}

const STILL = fixture25('still-sample5');
const SHORT_CLIP = fixture25('clip-f71fb12c');

test.describe('tiny Qwen2.5-VL vs PyTorch', () => {
  test.setTimeout(400_000);

  test('wasm fp32: still-only, 6-frame clip and 16-frame clip (video worker) questions, greedy tokens identical', async ({
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
    expect(info.engine).toBe('reference');
    for (const fx of [STILL, SHORT_CLIP]) {
      const out = await run(page, run25(fx));
      compare(out.result, fx, 'fp32', { greedy: true });
      expect(out.result.family).toBe('qwen2_5_vl');
      if (fx.q25.time) {
        // The clip's time as it reached M-RoPE (float32 2 / (6 / 99 * 30) = 1.1 s per slice).
        expect(out.result.videoTime).toEqual({
          secondPerGridTs: Math.fround(fx.q25.time.second_per_grid_ts),
          tokensPerSecond: 2,
        });
      } else expect(out.result.videoTime).toBeNull();
    }
    // A 16-frame clip through the video stage's worker (mp4 demux + WebCodecs decode): its N and
    // fps reach M-RoPE from the container, and the time scale matters (t ids 0, 2, 4, 7, 9, 12,
    // 14, 17, where Qwen2-VL's rule gives 0..7).
    const LONG = fixture25('clip-c847fafa');
    const out = await run(page, {
      ...fixtureRun(LONG),
      clipPngs: null,
      clipUrl: `/test-files/clips/${LONG.clip}`,
      clipValues: 'float', // the fixtures' torchvision resize on float frames
    });
    compare(out.result, LONG, 'fp32', { greedy: true });
    expect(out.result.videoTime?.secondPerGridTs).toBe(
      Math.fround(LONG.q25.time?.second_per_grid_ts ?? NaN),
    );
  });

  test('WebGPU (SwiftShader) fp32: 6-frame clip question', async ({ page }) => {
    await openHarness(page);
    const { info } = await load(page, {
      from: MODEL_URL,
      engine: 'reference',
      dtype: 'fp32',
      device: 'webgpu',
    });
    expect(info.device).toBe('webgpu');
    expect(info.engine).toBe('reference');
    const out = await run(page, run25(SHORT_CLIP));
    compare(out.result, SHORT_CLIP, 'fp32', { greedy: true });
  });
});

/** What a fast-engine run must record: the engine, the family, the clip's time where M-RoPE used it. */
function expectFastQwen25(result: RunResult, fx: Fixture & { q25: Q25Fixture }) {
  expect(result.engine).toBe('fast');
  expect(result.engineNote).toContain('reference vision graph per temporal slice');
  expect(result.family).toBe('qwen2_5_vl');
  expect(result.videoTime).toEqual(
    fx.q25.time
      ? { secondPerGridTs: Math.fround(fx.q25.time.second_per_grid_ts), tokensPerSecond: 2 }
      : null,
  );
}

test.describe('tiny Qwen2.5-VL on the fast engine vs PyTorch', () => {
  test.setTimeout(400_000);

  for (const device of ['wasm', 'webgpu'] as const) {
    test(`${device === 'wasm' ? 'wasm' : 'WebGPU (SwiftShader)'} fp32: engine 'auto' picks the fast graphs; 6-frame clip and still-only questions, ${device === 'wasm' ? '32' : 'the first 8'} greedy tokens identical`, async ({
      page,
    }) => {
      await openHarness(page);
      const { info } = await load(page, {
        from: MODEL_URL,
        engine: 'auto',
        dtype: 'fp32',
        device,
        ...(device === 'wasm' ? { numThreads: 2 } : {}),
      });
      expect(info.device).toBe(device);
      // onnx/fast.json lists the shared fast decoder and the model's own reference vision graph.
      expect(info.engine).toBe('fast');
      expect(info.graphDtypes).toEqual({ decoder_fast: 'fp32', vision_encoder: 'fp32' });
      for (const fx of [SHORT_CLIP, STILL]) {
        if (device === 'wasm') {
          // All 32 greedy tokens, and the shared-prefix likelihood pass against one full pass per choice.
          const out = await run(page, { ...run25(fx), checkLikelihood: true });
          expectFastQwen25(out.result, fx);
          compare(out.result, fx, 'fp32', { greedy: true });
          for (const l of ['A', 'B', 'C', 'D'] as const) {
            const cached = out.result.choiceNll?.[l] as number;
            const full = out.result.choiceNllNoCache?.[l] as number;
            expect(Math.abs(cached - full), l).toBeLessThan(1e-4);
          }
        } else {
          // SwiftShader runs a fast decode step in ~2 s here (the same graph, replayed, as on wasm
          // where all 32 are checked): the first 8 greedy tokens, no likelihood pass (CI time).
          const out = await run(page, {
            ...run25(fx),
            maxNewTokens: 8,
            scoring: { official: true, letters: true, likelihood: false },
          });
          expectFastQwen25(out.result, fx);
          compareWith(out.result, fx, fx.pytorch, TOLERANCE.fp32, 'PyTorch', {
            greedy: false,
            likelihood: false,
          });
          expect(out.result.outputIds).toEqual(fx.pytorch.greedy_ids.slice(0, 8));
          expect(out.result.engineNote).toContain('captured graph');
        }
      }
      if (device === 'wasm') {
        // The 16-frame clip through the video worker: its time-scaled temporal ids (0, 2, 4, 7, ...;
        // Qwen2-VL's rule gives 0..7) fill the fast decoder's rotary tables.
        const LONG = fixture25('clip-c847fafa');
        const out = await run(page, {
          ...fixtureRun(LONG),
          clipPngs: null,
          clipUrl: `/test-files/clips/${LONG.clip}`,
          clipValues: 'float',
        });
        expectFastQwen25(out.result, LONG);
        compare(out.result, LONG, 'fp32', { greedy: true });
      }
    });
  }
});

test('the fast engine on a Qwen2.5-VL whose fast.json lists a fast (Qwen2-VL) vision graph is refused with the reason', async ({
  page,
}) => {
  await openHarness(page);
  // The tiny Qwen2-VL's manifest served in the Qwen2.5-VL folder: its vision_fast graph is
  // Qwen2-VL's tower, which would run silently wrong on Qwen2.5-VL weights.
  await page.route(`**${MODEL_URL}onnx/fast.json`, (route) =>
    route.fulfill({ body: readFileSync(`${MODEL_DIR}/onnx/fast.json`) }),
  );
  const out = await page.evaluate(
    (from) =>
      (window as unknown as { modelHarness: ModelHarness }).modelHarness.load({
        from,
        engine: 'fast',
        dtype: 'fp32',
        device: 'wasm',
      }),
    MODEL_URL,
  );
  expect(out).toMatchObject({
    ok: false,
    error: {
      code: 'bad-config',
      message: expect.stringMatching(/fast vision graph \(Qwen2-VL's tower\) for Qwen2\.5-VL/),
    },
  });
});

test('a Qwen2.5-VL checkpoint exported by `npm run export` runs in the app and reproduces PyTorch', async ({
  page,
}) => {
  test.setTimeout(240_000);
  // The committed tiny Qwen2.5-VL's weights as a Hugging Face checkpoint (transformers 5 names,
  // sharded safetensors), through convert.py as a user's checkpoint goes, into models/ (git-ignored
  // there) where the app serves it; then the 6-frame clip, whose temporal ids 0, 2, 4 need the time
  // scale the converted config.json must carry.
  const root = resolve(import.meta.dirname, '..');
  const ckpt = mkdtempSync(join(tmpdir(), 'tiny25-ckpt-'));
  const name = 'export-test-tiny25';
  const py = (...args: string[]) => {
    const r = spawnSync('npx', ['tsx', 'scripts/run-python.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`${args[0]} failed:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  py('scripts/export/make_random_checkpoint.py', '--size', 'tiny25', '--out', ckpt);
  const said = py(
    'scripts/export/convert.py',
    '--from',
    ckpt,
    '--out',
    `models/${name}`,
    '--dtypes',
    'fp32',
  );
  rmSync(ckpt, { recursive: true, force: true });
  expect(said).toContain('fast engine graphs: written for fp32');
  const config = JSON.parse(readFileSync(join(root, 'models', name, 'config.json'), 'utf8')) as {
    architectures: string[];
    vision_config: { tokens_per_second: number };
  };
  expect(config.architectures).toEqual(['Qwen2_5_VLForConditionalGeneration']);

  await openHarness(page);
  const { info } = await load(page, {
    from: `/models/${name}/`,
    engine: 'auto',
    dtype: 'fp32',
    device: 'wasm',
    numThreads: 2,
  });
  // The export's fast graphs: the fast decoder and the checkpoint's own vision graph.
  expect(info.engine).toBe('fast');
  const out = await run(page, run25(SHORT_CLIP));
  expect(out.result.engine).toBe('fast');
  compare(out.result, SHORT_CLIP, 'fp32', { greedy: true });
  expect(out.result.family).toBe('qwen2_5_vl');
  // The time scale as it reached M-RoPE: the converted config.json's tokens_per_second (2).
  expect(out.result.videoTime).toEqual({
    secondPerGridTs: Math.fround(SHORT_CLIP.q25.time?.second_per_grid_ts ?? NaN),
    tokensPerSecond: config.vision_config.tokens_per_second,
  });
  expect(config.vision_config.tokens_per_second).toBe(2);
});
