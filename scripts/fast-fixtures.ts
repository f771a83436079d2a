// Expected outputs of the fast graphs (models/tiny-random-qwen2-vl/onnx/*_fast*.onnx) on
// onnxruntime's CPU kernels (onnxruntime-node), for the browser tests' committed cases:
//   npx tsx scripts/fast-fixtures.ts     -> e2e/fixtures/fast/<case>.json
// Inputs are made exactly as the browser harness makes them (the committed PNGs, decoded to RGB by
// ffmpeg, resized by the app's own src/video resizers, patchified by src/model/pixels). Each result
// is compared with the committed reference fixture (onnxruntime on the reference graphs, from the
// processor's pixels) and the comparison is stored beside it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { mergedTokens, patchify, type Patches } from '../src/model/pixels';
import { ropeIndex } from '../src/model/rope';
import { logProbs, topK, applyRepetitionPenalty, argmax } from '../src/model/decoding';
import { parseFastManifest } from '../src/model/fast/manifest';
import { ropeTable, seenMask, visionTable, visualRows } from '../src/model/fast/tables';
import { resizePillowBicubic, resizeTorchBicubicAA } from '../src/video/resize';

const ROOT = resolve(import.meta.dirname, '..');
const MODEL = `${ROOT}/models/tiny-random-qwen2-vl/onnx`;
const FIX = `${ROOT}/e2e/fixtures/reference`;
const OUT = `${ROOT}/e2e/fixtures/fast`;
const SIDE = 252;
const NEW_TOKENS = 32;
const CAPACITY = 1024;
const IDS = { image: 151655, video: 151656, visionStart: 151652, stops: [151645, 151643] };

interface Fx {
  case_id: string;
  clip: string | null;
  indices?: number[];
  still_252_png: string;
  input_ids: number[];
  image_grid_thw: number[][];
  video_grid_thw?: number[][];
  letter_token_ids: Record<string, number>;
  onnx: Record<string, { top20: [number, number][]; greedy_ids: number[] }>;
}

function png(path: string): { rgb: Uint8Array; width: number; height: number } {
  const probe = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height',
    '-of',
    'csv=p=0',
    path,
  ])
    .toString()
    .trim();
  const [width, height] = probe.split(',').map(Number) as [number, number];
  const raw = execFileSync('ffmpeg', [
    '-v',
    'error',
    '-i',
    path,
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-',
  ]);
  const plane = width * height;
  const rgb = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++) rgb[c * plane + i] = raw[3 * i + c] as number;
  return { rgb, width, height };
}

function visuals(fx: Fx): { clip: Patches | null; still: Patches } {
  let clip: Patches | null = null;
  if (fx.clip) {
    const frames = (fx.indices ?? []).map((ix, i) => {
      const img = png(
        `${FIX}/${fx.case_id}/frame_${String(i).padStart(2, '0')}_src${String(ix).padStart(4, '0')}.png`,
      );
      const out = new Float32Array(3 * SIDE * SIDE);
      resizeTorchBicubicAA(img.rgb, img.width, img.height, SIDE, SIDE, out, false);
      return out;
    });
    clip = patchify(frames, SIDE, SIDE);
  }
  const s = png(`${FIX}/${fx.still_252_png}`);
  const still = Float32Array.from(resizePillowBicubic(s.rgb, s.width, s.height, SIDE, SIDE));
  return { clip, still: patchify([still], SIDE, SIDE) };
}

const opts = { executionProviders: ['cpu'], intraOpNumThreads: 2 };
const i64 = (a: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(Array.from(a), (x) => BigInt(x)),
    dims,
  );
const i32 = (a: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('int32', Int32Array.from(a), dims);
const f32 = (a: Float32Array, dims: number[]) => new ort.Tensor('float32', a, dims);

function summary(logits: Float32Array, letters: Record<string, number>) {
  const lp = logProbs(logits, Object.values(letters));
  return {
    top20: topK(logits, 20).map((x) => [x.id, Number(x.logit.toPrecision(6))] as [number, number]),
    letter_logprobs: Object.fromEntries(
      Object.keys(letters).map((k, i) => [k, Number((lp[i] as number).toPrecision(6))]),
    ),
  };
}

async function runFast(fx: Fx, dtype: 'fp32' | 'q4') {
  const manifest = parseFastManifest(readFileSync(`${MODEL}/fast.json`, 'utf8'), 'tiny');
  const files = manifest.graphs[dtype];
  if (!files) throw new Error(`no fast ${dtype}`);
  const t = manifest.text;
  const vis = await ort.InferenceSession.create(
    `${ROOT}/models/tiny-random-qwen2-vl/${files.vision.file}`,
    opts,
  );
  const dec = await ort.InferenceSession.create(
    `${ROOT}/models/tiny-random-qwen2-vl/${files.decoder.file}`,
    opts,
  );
  const v = visuals(fx);
  const items = [...(v.clip ? [v.clip] : []), v.still];
  const per = 18 * 18;
  const slices = items.reduce((n, p) => n + p.grid[0], 0);
  const pv = new Float32Array(slices * per * 1176);
  let o = 0;
  for (const p of items) {
    pv.set(p.data, o);
    o += p.data.length;
  }
  const vt = visionTable(v.still.grid, manifest.vision.inv_freq, manifest.vision.merge);
  const feats = (
    await vis.run({
      pixel_values: f32(pv, [slices, per, 1176]),
      cos_cache: f32(vt.cos, [per, vt.width]),
      sin_cache: f32(vt.sin, [per, vt.width]),
    })
  )['visual_embeds'] as ort.Tensor;
  const ids = fx.input_ids;
  const grids = { image: [v.still.grid], video: v.clip ? [v.clip.grid] : [] };
  const rope = ropeIndex(ids, grids, {
    imageTokenId: IDS.image,
    videoTokenId: IDS.video,
    visionStartTokenId: IDS.visionStart,
  });
  const runs = [
    ...(v.clip ? [{ tokenId: IDS.video, count: mergedTokens(v.clip.grid) }] : []),
    { tokenId: IDS.image, count: mergedTokens(v.still.grid) },
  ];
  const table = ropeTable(
    rope.positions,
    ids.length,
    rope.delta,
    CAPACITY,
    t.inv_freq,
    t.mrope_section,
    t.kv_head_dim / 2,
  );
  const D = t.kv_head_dim;
  const kv: Record<string, ort.Tensor> = {};
  for (let l = 0; l < t.layers; l++)
    for (const k of ['key', 'value'])
      kv[`past_${k}.${l}`] = f32(new Float32Array(t.kv_heads * CAPACITY * D), [
        1,
        t.kv_heads,
        CAPACITY,
        D,
      ]);
  const seen = seenMask(ids, t.vocab);
  const base = {
    cos_cache: f32(table.cos, [CAPACITY, D / 2]),
    sin_cache: f32(table.sin, [CAPACITY, D / 2]),
  };
  let out = await dec.run({
    ...base,
    ...kv,
    input_ids: i32(ids, [ids.length, 1]),
    visual_rows: i32(visualRows(ids, runs), [ids.length, 1]),
    visual_embeds: feats,
    seqlens_k: i32([ids.length - 1], [1]),
    total_sequence_length: i32([ids.length], []),
    logit_rows: i64([ids.length - 1], [1]),
    seen: f32(seen, [t.vocab]),
  });
  const first = (out['logits'] as ort.Tensor).data as Float32Array;
  const greedy = [Number(((out['next_token'] as ort.Tensor).data as Int32Array)[0])];
  // The graph's penalty + argmax equals the CPU rule on its own logits (checked on the first step).
  const cpu = Float32Array.from(first);
  applyRepetitionPenalty(cpu, new Set(ids), 1.05);
  if (argmax(cpu) !== greedy[0])
    throw new Error(`${fx.case_id} ${dtype}: graph argmax ${greedy[0]} != CPU ${argmax(cpu)}`);
  let past = ids.length;
  while (greedy.length < NEW_TOKENS && !IDS.stops.includes(greedy[greedy.length - 1] as number)) {
    const prev = greedy[greedy.length - 1] as number;
    for (let l = 0; l < t.layers; l++)
      for (const k of ['key', 'value'])
        kv[`past_${k}.${l}`] = out[`present_${k}.${l}`] as ort.Tensor;
    out = await dec.run({
      ...base,
      ...kv,
      input_ids: i32([prev], [1, 1]),
      visual_rows: i32([0], [1, 1]),
      visual_embeds: f32(new Float32Array(t.hidden), [1, t.hidden]),
      seqlens_k: i32([past], [1]),
      total_sequence_length: i32([past + 1], []),
      logit_rows: i64([0], [1]),
      seen: f32(seen, [t.vocab]),
    });
    seen[prev] = 1;
    past++;
    greedy.push(Number(((out['next_token'] as ort.Tensor).data as Int32Array)[0]));
  }
  return { ...summary(first, fx.letter_token_ids), greedy_ids: greedy };
}

mkdirSync(OUT, { recursive: true });
for (const id of ['still-sample5', 'clip-f71fb12c']) {
  const fx = JSON.parse(readFileSync(`${FIX}/${id}.json`, 'utf8')) as Fx;
  const entry: Record<string, unknown> = {
    case_id: id,
    made_by:
      'scripts/fast-fixtures.ts: onnxruntime-node (CPU) on the fast graphs, inputs as the browser harness makes them',
    onnxruntime_node: ort.env.versions.node ?? null,
    new_tokens: NEW_TOKENS,
  };
  for (const dtype of ['fp32', 'q4'] as const) {
    const r = await runFast(fx, dtype);
    const ref = fx.onnx[dtype];
    const diff = ref
      ? Math.max(
          ...ref.top20.map(([tid, v]) =>
            Math.abs((r.top20.find(([i]) => i === tid)?.[1] ?? Infinity) - v),
          ),
        )
      : null;
    const same = ref
      ? r.greedy_ids.slice(0, ref.greedy_ids.length).every((x, i) => x === ref.greedy_ids[i])
      : null;
    console.log(
      `${id} ${dtype}: top-20 max |diff| vs the reference graphs' onnxruntime fixture ${diff?.toExponential(2)}, greedy ${same ? 'equal' : 'DIFFER'}`,
    );
    entry[dtype] = { ...r, vs_reference_fixture: { top20_max_abs_diff: diff, greedy_equal: same } };
  }
  writeFileSync(`${OUT}/${id}.json`, JSON.stringify(entry, null, 1) + '\n');
}
