import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { linkSharedTextGraphs } from './copy-tokenizer';

// The tiny Qwen2.5-VL's committed onnx/fast.json and its linked (not committed) decoder_fast.onnx are
// what the fast builder makes for that folder: the manifest byte for byte, the decoder identical to
// the tiny Qwen2-VL's (the text weights are the same), so sharing its bytes is exact.
const root = resolve(import.meta.dirname, '..');
const q25 = join(root, 'models/tiny-random-qwen2_5-vl');

/** build_fast.py over a temporary copy of a tiny model folder's traced graphs: the folder and its log. */
function buildFast(model: string, args: string[]): { dir: string; stdout: string } {
  const dir = mkdtempSync(join(tmpdir(), 'build-fast-'));
  mkdirSync(join(dir, 'onnx'));
  copyFileSync(join(model, 'config.json'), join(dir, 'config.json'));
  for (const f of ['embed_tokens.onnx', 'decoder_model_merged.onnx', 'vision_encoder.onnx'])
    copyFileSync(join(model, 'onnx', f), join(dir, 'onnx', f));
  const r = spawnSync(
    'npx',
    ['tsx', 'scripts/run-python.ts', 'scripts/export/build_fast.py', dir, ...args],
    { cwd: root, encoding: 'utf8' },
  );
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  return { dir, stdout: r.stdout };
}

describe('scripts/export/build_fast.py on the tiny Qwen2.5-VL', () => {
  it('rebuilds its fast.json and a decoder_fast.onnx identical to the tiny Qwen2-VL one', () => {
    linkSharedTextGraphs();
    const { dir, stdout } = buildFast(q25, ['--dtypes', 'fp32']);
    expect(stdout).toContain('vision: the reference graph onnx/vision_encoder.onnx');
    const read = (path: string) => readFileSync(path);
    expect(read(join(dir, 'onnx/fast.json')).equals(read(join(q25, 'onnx/fast.json')))).toBe(true);
    const built = read(join(dir, 'onnx/decoder_fast.onnx'));
    const shared = read(join(root, 'models/tiny-random-qwen2-vl/onnx/decoder_fast.onnx'));
    expect(built.equals(shared)).toBe(true);
  });
});

// The committed tiny Qwen2-VL vision graphs compute their heads and MLP columns in groups (fast/build.py
// VISION_GROUPS: onnxruntime's WebGPU buffer cache then keeps less of a run). Built whole from the same
// weights (--vision-groups 1), they must compute the same features: attention per head is the same
// arithmetic, the MLP's fc2 adds its column groups in another order (fp32 rounding only).
const qwen2 = join(root, 'models/tiny-random-qwen2-vl');

/** A 3-slice question's vision inputs: the patch rows and rotary tables, deterministic. */
function visionFeeds(rowWidth: number, patches: number, half: number): Record<string, ort.Tensor> {
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const pixels = Float32Array.from({ length: 3 * patches * rowWidth }, next);
  const angles = Array.from({ length: patches * half }, () => next() * 3);
  return {
    pixel_values: new ort.Tensor('float32', pixels, [3, patches, rowWidth]),
    cos_cache: new ort.Tensor('float32', Float32Array.from(angles, Math.cos), [patches, half]),
    sin_cache: new ort.Tensor('float32', Float32Array.from(angles, Math.sin), [patches, half]),
  };
}

async function features(path: string, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  try {
    const out = await session.run(feeds);
    return out['visual_embeds']?.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('scripts/export/fast/vision.py groups', () => {
  it("the grouped tiny vision graphs compute the whole ones' features (fp32 and q4, onnxruntime CPU)", async () => {
    const { dir } = buildFast(qwen2, ['--dtypes', 'fp32,q4', '--vision-groups', '1']);
    const manifest = JSON.parse(readFileSync(join(qwen2, 'onnx/fast.json'), 'utf8')) as {
      vision: { embed: number; heads: number; patch: number; temporal_patch: number };
    };
    const v = manifest.vision;
    const feeds = visionFeeds(
      3 * v.temporal_patch * v.patch * v.patch,
      18 * 18,
      v.embed / v.heads / 2,
    );
    for (const file of ['vision_fast.onnx', 'vision_fast_q4.onnx']) {
      const grouped = await features(join(qwen2, 'onnx', file), feeds);
      const whole = await features(join(dir, 'onnx', file), feeds);
      expect(grouped.length).toBe(whole.length);
      const diff = Math.max(...whole.map((x, i) => Math.abs((grouped[i] as number) - x)));
      const scale = Math.max(...whole.map(Math.abs));
      console.log(
        `${file}: max |grouped - whole| ${diff.toExponential(2)} (max |feature| ${scale.toFixed(2)})`,
      );
      // fp32 reordering of 2 partial sums per output: a few ulps of the features' magnitude.
      expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
      expect(
        readFileSync(join(qwen2, 'onnx', file)).equals(readFileSync(join(dir, 'onnx', file))),
      ).toBe(false);
    }
  });
});

// The committed tiny step graphs compute their attention in standard ops (fast/step_attention.py: no
// GroupQueryAttention, whose captured WebGPU decode takes an indirect dispatch per layer). Written
// with GroupQueryAttention from the same decoders (write_step attention="gqa"), they must give the
// same logits and write the same cache rows: the same rotation and keys, softmax over the same
// positions (stale rows past the position, set large here, must weigh nothing).
function stepFeeds(cap: number, d: number, layers: number, kvHeads: number, pos: number) {
  let seed = 3;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const angles = Float32Array.from({ length: (cap * d) / 2 }, () => next() * 3);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int32', Int32Array.of(1234), [1, 1]),
    seqlens_k: new ort.Tensor('int32', Int32Array.of(pos), [1]),
    total_sequence_length: new ort.Tensor('int32', Int32Array.of(pos + 1), []),
    logit_rows: new ort.Tensor('int64', BigInt64Array.of(0n), [1]),
    cos_cache: new ort.Tensor('float32', angles.map(Math.cos), [cap, d / 2]),
    sin_cache: new ort.Tensor('float32', angles.map(Math.sin), [cap, d / 2]),
    cache_positions: new ort.Tensor(
      'int32',
      Int32Array.from({ length: cap }, (_, i) => i),
      [cap],
    ),
  };
  const stale = (i: number) => Math.floor(i / d) % cap > pos;
  for (let l = 0; l < layers; l++)
    for (const kind of ['key', 'value'])
      feeds[`past_${kind}.${l}`] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: kvHeads * cap * d }, (_, i) => (stale(i) ? 50 : next())),
        [1, kvHeads, cap, d],
      );
  return { feeds, stale };
}

describe('scripts/export/fast/step_attention.py', () => {
  it("the tiny step graphs compute GroupQueryAttention's logits and cache rows (fp32 and q4, onnxruntime CPU)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'step-gqa-'));
    try {
      for (const f of ['decoder_fast.onnx', 'decoder_fast_q4.onnx', 'embed_tokens.onnx'])
        copyFileSync(join(qwen2, 'onnx', f), join(dir, f));
      const script = join(dir, 'write.py');
      writeFileSync(
        script,
        [
          'import sys',
          `sys.path.insert(0, ${JSON.stringify(join(root, 'scripts/export'))})`,
          'from pathlib import Path',
          'from fast.step import write_step',
          `d = Path(${JSON.stringify(dir)})`,
          'write_step(d / "decoder_fast.onnx", d / "decoder_fast_step.onnx", "gqa")',
          'write_step(d / "decoder_fast_q4.onnx", d / "decoder_fast_q4step.onnx", "gqa")',
        ].join('\n'),
      );
      const r = spawnSync('npx', ['tsx', 'scripts/run-python.ts', script], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      const t = (
        JSON.parse(readFileSync(join(qwen2, 'onnx/fast.json'), 'utf8')) as {
          text: { layers: number; kv_heads: number; kv_head_dim: number };
        }
      ).text;
      // A capacity of two of the context's 64-position runs (step_attention.py CHUNK), past its middle.
      const pos = 77;
      const { feeds, stale } = stepFeeds(128, t.kv_head_dim, t.layers, t.kv_heads, pos);
      const run = async (path: string) => {
        const session = await ort.InferenceSession.create(path);
        try {
          const wanted = Object.fromEntries(
            Object.entries(feeds).filter(([k]) => session.inputNames.includes(k)),
          );
          return await session.run(wanted);
        } finally {
          await session.release();
        }
      };
      for (const file of ['decoder_fast_step.onnx', 'decoder_fast_q4step.onnx']) {
        const ops = await run(join(qwen2, 'onnx', file));
        const gqa = await run(join(dir, file));
        for (const name of [
          'logits',
          ...Array.from({ length: t.layers }, (_, l) => [
            `present_key.${l}`,
            `present_value.${l}`,
          ]).flat(),
        ]) {
          const a = ops[name]?.data as Float32Array;
          const b = gqa[name]?.data as Float32Array;
          expect(a.length).toBe(b.length);
          // The presents past this position are the stale input rows (ScatterND writes one row; the CPU
          // GroupQueryAttention leaves them unwritten): only rows up to it are compared.
          const rows = (i: number) => name === 'logits' || !stale(i);
          let diff = 0;
          let scale = 0;
          for (let i = 0; i < a.length; i++) {
            if (!rows(i)) continue;
            diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
            scale = Math.max(scale, Math.abs(b[i] as number));
          }
          console.log(
            `${file} ${name}: max |ops - gqa| ${diff.toExponential(2)} (max ${scale.toFixed(2)})`,
          );
          // fp32 rounding of the two softmax / matmul orders: a few ulps of the logits' magnitude.
          expect(diff).toBeLessThanOrEqual(1e-6 * Math.max(1, scale));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
