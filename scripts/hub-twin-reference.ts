/**
 * npx tsx scripts/hub-twin-reference.ts [--check]
 *
 * Reference numbers for the hub-interface twins (models/tiny-random-qwen2-vl-hub*, made by
 * scripts/export/make_twin.py) from onnxruntime's CPU kernels (onnxruntime-node 1.30, the same
 * kernels onnxruntime-python 1.30 made the tiny model's fixtures with), on the reference cases'
 * inputs: the fixtures' input_ids and committed PNGs, patchified, each visual encoded in ONE call
 * with its whole grid (the app encodes slice by slice), the full prompt in one decoder pass with
 * every position's logits (the app prefills in chunks), then 32 greedy tokens with the official
 * repetition penalty. Independent of the app's run path, so the browser tests compare two routes.
 *
 * Writes e2e/fixtures/reference/hub-twin.json (top-20 logits, A-D log-probs, 64 sampled logits and
 * greedy ids per case and dtype, with the sha256 of every graph file used). --check recomputes and
 * fails if the committed file differs. The fp32 twin is also compared with the PyTorch fixture.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import {
  applyRepetitionPenalty,
  argmax,
  logProbs,
  patchify,
  ropeIndex,
  textPositions,
  topK,
  type Grid,
} from '../src/model/index';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../src/model/float16';
import { resizePillowBicubic, resizeTorchBicubicAA } from '../src/video/index';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(root, 'e2e/fixtures/reference');
const OUT = join(FIXTURES, 'hub-twin.json');
const SIDE = 252;
const NEW_TOKENS = 32;
const PENALTY = 1.05;
const IDS = { image: 151655, video: 151656, visionStart: 151652, imEnd: 151645, endOfText: 151643 };
const CASES = ['still-sample5', 'clip-f71fb12c'];
const SUFFIX: Record<string, string> = { fp32: '', fp16: '_fp16', q4: '_q4', q4f16: '_q4f16' };
/** (model folder, dtype): the twin at fp32 and q4 (the CI defaults), the float16-IO twin at fp16. */
const RUNS = [
  ['tiny-random-qwen2-vl-hub', 'fp32'],
  ['tiny-random-qwen2-vl-hub', 'q4'],
  ['tiny-random-qwen2-vl-hub-f16io', 'fp16'],
  ['tiny-random-qwen2-vl-hub-f16io', 'q4f16'],
] as const;

interface Fixture {
  case_id: string;
  clip: string | null;
  indices?: number[];
  still_252_png: string;
  input_ids: number[];
  logit_ids: number[];
  letter_token_ids: Record<string, number>;
  pytorch: { top20: [number, number][]; greedy_ids: number[] };
}

/** Planar RGB bytes of a PNG, decoded by ffmpeg (8-bit RGB, as stored). */
function decodePng(path: string): { rgb: Uint8Array; width: number; height: number } {
  const png = readFileSync(path);
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const raw = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    {
      maxBuffer: 64 * 2 ** 20,
    },
  );
  const plane = width * height;
  const rgb = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++) rgb[c * plane + i] = raw[3 * i + c] as number;
  return { rgb, width, height };
}

/** The case's visuals as the harness makes them: clip frames (float resize), the 252 x 252 still. */
function visuals(fx: Fixture): { clip: Float32Array[] | null; still: Float32Array } {
  const clip = fx.clip
    ? (fx.indices ?? []).map((ix, i) => {
        const img = decodePng(
          join(
            FIXTURES,
            fx.case_id,
            `frame_${String(i).padStart(2, '0')}_src${String(ix).padStart(4, '0')}.png`,
          ),
        );
        const out = new Float32Array(3 * SIDE * SIDE);
        resizeTorchBicubicAA(img.rgb, img.width, img.height, SIDE, SIDE, out, false);
        return out;
      })
    : null;
  const s = decodePng(join(FIXTURES, fx.still_252_png));
  return {
    clip,
    still: Float32Array.from(resizePillowBicubic(s.rgb, s.width, s.height, SIDE, SIDE)),
  };
}

function tensor(type: string, data: Float32Array, dims: number[]): ort.Tensor {
  return type === 'float16'
    ? new ort.Tensor('float16', float32ToFloat16Bits(data), dims)
    : new ort.Tensor('float32', data, dims);
}

function floats(t: ort.Tensor): Float32Array {
  return t.type === 'float16'
    ? float16BitsToFloat32(t.data as Uint16Array)
    : (t.data as Float32Array);
}

async function session(dir: string, graph: string, dtype: string) {
  const path = join(dir, 'onnx', `${graph}${SUFFIX[dtype] ?? ''}.onnx`);
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
  const meta = (name: string) =>
    (
      s.inputMetadata as readonly {
        name: string;
        type?: string;
        shape?: readonly (number | string)[];
      }[]
    ).find((m) => m.name === name);
  return { s, path, meta };
}

const r6 = (x: number) => Number(x.toPrecision(6));

async function runCase(folder: string, dtype: string, fx: Fixture) {
  const dir = join(root, 'models', folder);
  const [embed, vision, decoder] = await Promise.all([
    session(dir, 'embed_tokens', dtype),
    session(dir, 'vision_encoder', dtype),
    session(dir, 'decoder_model_merged', dtype),
  ]);
  const v = visuals(fx);
  const items: { token: number; grid: Grid; features: Float32Array }[] = [];
  const encode = async (frames: Float32Array[], token: number) => {
    const p = patchify(frames, SIDE, SIDE);
    const rows = p.data.length / p.rowLength;
    const out = await vision.s.run({
      pixel_values: tensor(vision.meta('pixel_values')?.type ?? 'float32', p.data, [
        rows,
        p.rowLength,
      ]),
      grid_thw: new ort.Tensor('int64', BigInt64Array.from(p.grid.map(BigInt)), [1, 3]),
    });
    items.push({ token, grid: p.grid, features: floats(out['image_features'] as ort.Tensor) });
  };
  if (v.clip) await encode(v.clip, IDS.video);
  await encode([v.still], IDS.image);

  const embedIds = async (ids: readonly number[]) => {
    const out = await embed.s.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
    });
    return floats(out['inputs_embeds'] as ort.Tensor).slice();
  };
  const ids = fx.input_ids;
  const hidden = 16;
  const embeds = await embedIds(ids);
  for (const item of items) {
    const at = ids.indexOf(item.token);
    embeds.set(item.features, at * hidden);
  }
  const rope = ropeIndex(
    ids,
    {
      image: items.filter((i) => i.token === IDS.image).map((i) => i.grid),
      video: items.filter((i) => i.token === IDS.video).map((i) => i.grid),
    },
    { imageTokenId: IDS.image, videoTokenId: IDS.video, visionStartTokenId: IDS.visionStart },
  );
  const embType = decoder.meta('inputs_embeds')?.type ?? 'float32';
  const cacheType = decoder.meta('past_key_values.0.key')?.type ?? 'float32';
  let past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < 2; i++) {
    for (const k of ['key', 'value'])
      past[`past_key_values.${i}.${k}`] = tensor(cacheType, new Float32Array(0), [1, 1, 0, 8]);
  }
  const step = async (e: Float32Array, n: number, positions: BigInt64Array, pastLen: number) => {
    const out = await decoder.s.run({
      inputs_embeds: tensor(embType, e, [1, n, hidden]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(pastLen + n).fill(1n), [
        1,
        pastLen + n,
      ]),
      position_ids: new ort.Tensor('int64', positions, [3, 1, n]),
      ...past,
    });
    past = {};
    for (const [name, t] of Object.entries(out)) {
      if (name.startsWith('present.')) past[name.replace('present.', 'past_key_values.')] = t;
    }
    const logits = floats(out['logits'] as ort.Tensor);
    const vocab = (out['logits'] as ort.Tensor).dims[2] as number;
    return logits.slice((n - 1) * vocab, n * vocab);
  };
  const first = await step(embeds, ids.length, rope.positions, 0);
  const letters = Object.values(fx.letter_token_ids);
  const lp = logProbs(first, letters);
  const seen = new Set(ids);
  const greedy: number[] = [];
  let logits = first.slice();
  let pastLen = ids.length;
  for (;;) {
    applyRepetitionPenalty(logits, seen, PENALTY);
    const next = argmax(logits);
    greedy.push(next);
    seen.add(next);
    if (next === IDS.imEnd || next === IDS.endOfText || greedy.length >= NEW_TOKENS) break;
    logits = (
      await step(await embedIds([next]), 1, textPositions(pastLen, 1, rope.delta), pastLen)
    ).slice();
    pastLen += 1;
  }
  const files = [embed.path, vision.path, decoder.path].flatMap((p) => {
    const data = `${p}_data`;
    try {
      readFileSync(data);
      return [p, data];
    } catch {
      return [p];
    }
  });
  return {
    result: {
      top20: topK(first, 20).map(({ id, logit }) => [id, r6(logit)] as [number, number]),
      letter_logprobs: Object.fromEntries(
        Object.keys(fx.letter_token_ids).map((l, i) => [l, r6(lp[i] as number)]),
      ),
      logits_at_ids: fx.logit_ids.map((id) => r6(first[id] as number)),
      greedy_ids: greedy,
    },
    first,
    files,
  };
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function main() {
  const check = process.argv.includes('--check');
  const out: {
    about: string;
    runtime: string;
    graphs: Record<string, string>;
    cases: Record<string, Record<string, unknown>>;
    fp32_vs_pytorch: Record<string, { max_abs_top20: number; greedy_equal: boolean }>;
  } = {
    about:
      'onnxruntime-node (CPU) on the hub-interface twins, made by scripts/hub-twin-reference.ts; graphs by sha256 (relative to models/)',
    runtime: `onnxruntime-node ${(ort.env as { versions?: { common?: string } }).versions?.common ?? '?'}`,
    graphs: {},
    cases: {},
    fp32_vs_pytorch: {},
  };
  for (const id of CASES) {
    const fx = JSON.parse(readFileSync(join(FIXTURES, `${id}.json`), 'utf8')) as Fixture;
    out.cases[id] = {};
    for (const [folder, dtype] of RUNS) {
      const r = await runCase(folder, dtype, fx);
      out.cases[id][`${folder}:${dtype}`] = r.result;
      for (const f of r.files) out.graphs[f.slice(join(root, 'models').length + 1)] = sha256(f);
      if (dtype === 'fp32') {
        const diff = Math.max(
          ...fx.pytorch.top20.map(([tid, v]) => Math.abs((r.first[tid] as number) - v)),
        );
        const equal = r.result.greedy_ids.every((g, i) => g === fx.pytorch.greedy_ids[i]);
        out.fp32_vs_pytorch[id] = { max_abs_top20: r6(diff), greedy_equal: equal };
        console.log(
          `${id} ${folder} fp32 vs PyTorch: max |diff| top-20 ${diff.toExponential(2)}, greedy ${equal ? 'equal' : 'DIFFER'}`,
        );
        if (diff > 1e-3 || !equal)
          throw new Error(`${id}: the fp32 twin does not reproduce PyTorch`);
      } else {
        console.log(
          `${id} ${folder} ${dtype}: greedy ${r.result.greedy_ids.slice(0, 8).join(',')}...`,
        );
      }
    }
  }
  out.graphs = Object.fromEntries(Object.entries(out.graphs).sort());
  const text = `${JSON.stringify(out, null, 1)}\n`;
  if (check) {
    const committed = readFileSync(OUT, 'utf8');
    if (committed !== text) {
      console.error(
        `${OUT} differs from a fresh run: the twin's graphs or the runtime changed. Rerun without --check.`,
      );
      process.exit(1);
    }
    console.log(`${OUT}: up to date`);
    return;
  }
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT}`);
}

await main();
