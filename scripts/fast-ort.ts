// The fast graphs (scripts/export/fast) on onnxruntime-node's CPU execution provider, fed exactly
// as the app's fast engine feeds them on wasm (src/model/fast/engine.ts: encode, prefill via step,
// nextCpu): every visual in one vision run, the M-RoPE and vision rotary tables of
// src/model/fast/tables.ts, a fixed-capacity KV cache passed from run to run, the `seen` mask
// updated one step late (the graph adds the step's input id), penalty and argmax in the graph.
// A dtype whose manifest entry lists the reference vision graph (q8) runs it per temporal slice, as
// the engine's encodeReference does (Qwen2-VL's grid input, grid_thw).
// Used by scripts/fast-fixtures.ts (expected outputs) and npm run bench:cpu (the speed reference).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { mergedTokens, temporalSlices, type Patches } from '../src/model/pixels';
import { ropeIndex } from '../src/model/rope';
import {
  fastVisionOf,
  parseFastManifest,
  sessionGraphs,
  type FastManifest,
} from '../src/model/fast/manifest';
import { ropeTable, seenMask, visionTable, visualRows } from '../src/model/fast/tables';

const IDS = { image: 151655, video: 151656, visionStart: 151652 };

const i64 = (a: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(Array.from(a), (x) => BigInt(x)),
    dims,
  );
const i32 = (a: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('int32', Int32Array.from(a), dims);
const f32 = (a: Float32Array, dims: number[]) => new ort.Tensor('float32', a, dims);

export interface FastOrtRun {
  visionMs: number;
  prefillMs: number;
  /** Raw logits of the prompt's last position. */
  firstLogits: Float32Array;
  /** Greedy ids: the prefill's, then one per decode step. */
  outputIds: number[];
  /** Wall time of the decode steps (outputIds.length - 1 session runs). */
  decodeMs: number;
  decodeTokensPerS: number | null;
}

export class FastOrt {
  private constructor(
    readonly manifest: FastManifest,
    private readonly vision: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    readonly capacity: number,
    readonly loadMs: number,
    readonly dtype: string,
  ) {}

  /** Sessions on `threads` intra-op threads (one inter-op thread: sequential execution). */
  static async create(a: {
    modelDir: string;
    dtype: string;
    threads: number;
    capacity: number;
    /** q4: the int8-activation (a8) graphs for every run, as the app's q4Int8 'all'. */
    int8?: boolean;
  }): Promise<FastOrt> {
    const manifest = parseFastManifest(
      readFileSync(join(a.modelDir, 'onnx/fast.json'), 'utf8'),
      a.modelDir,
    );
    const entry = manifest.graphs[a.dtype];
    if (!entry) throw new Error(`${a.modelDir}: no fast ${a.dtype} graphs in onnx/fast.json`);
    if (a.int8 && !entry.a8) throw new Error(`${a.modelDir}: no a8 graphs for ${a.dtype}`);
    const used = sessionGraphs(entry, a.int8 ? 'all' : 'off');
    if (manifest.vision.graph === 'reference')
      throw new Error(
        `${a.modelDir}: onnx/fast.json's vision is the Qwen2.5-VL reference graph (fast-ort feeds Qwen2-VL's grid_thw)`,
      );
    const opts: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: a.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    };
    const t0 = performance.now();
    const vision = await ort.InferenceSession.create(join(a.modelDir, used.vision.file), opts);
    const decoder = await ort.InferenceSession.create(join(a.modelDir, used.prefill.file), opts);
    return new FastOrt(manifest, vision, decoder, a.capacity, performance.now() - t0, a.dtype);
  }

  /** Visuals in prompt order (the clip's slices, then the still), as the engine's encode(). */
  async run(a: {
    inputIds: readonly number[];
    clip: Patches | null;
    still: Patches;
    newTokens: number;
    stops: readonly number[];
  }): Promise<FastOrtRun> {
    const m = this.manifest;
    const t = m.text;
    const C = this.capacity;
    const D = t.kv_head_dim;
    const items = [...(a.clip ? [a.clip] : []), a.still];
    const [, h, w] = a.still.grid;
    const per = h * w;
    const slices = items.reduce((n, p) => n + p.grid[0], 0);
    const pv = new Float32Array(slices * per * a.still.rowLength);
    let o = 0;
    for (const p of items) {
      pv.set(p.data, o);
      o += p.data.length;
    }
    const ids = a.inputIds;
    let t0 = performance.now();
    const fv = fastVisionOf(m, this.dtype);
    let feats: ort.Tensor;
    if (fv) {
      const vt = visionTable(a.still.grid, fv.inv_freq, fv.merge);
      feats = (
        await this.vision.run({
          pixel_values: f32(pv, [slices, per, a.still.rowLength]),
          cos_cache: f32(vt.cos, [per, vt.width]),
          sin_cache: f32(vt.sin, [per, vt.width]),
        })
      )['visual_embeds'] as ort.Tensor;
    } else {
      // The reference vision graph, one slice per run, its rows under a zero row 0.
      const parts: Float32Array[] = [];
      for (const p of items)
        for (const { rows, h: sh, w: sw } of temporalSlices(p)) {
          const out = await this.vision.run({
            pixel_values: f32(rows, [sh * sw, p.rowLength]),
            grid_thw: i64([1, sh, sw], [1, 3]),
          });
          parts.push((out['image_features'] as ort.Tensor).data as Float32Array);
        }
      const n = parts.reduce((x, q) => x + q.length, 0) / t.hidden;
      const data = new Float32Array((1 + n) * t.hidden);
      let at = t.hidden;
      for (const q of parts) {
        data.set(q, at);
        at += q.length;
      }
      feats = f32(data, [1 + n, t.hidden]);
    }
    const visionMs = performance.now() - t0;
    t0 = performance.now();
    const grids = { image: [a.still.grid], video: a.clip ? [a.clip.grid] : [] };
    const rope = ropeIndex(ids, grids, {
      imageTokenId: IDS.image,
      videoTokenId: IDS.video,
      visionStartTokenId: IDS.visionStart,
    });
    const runs = [
      ...(a.clip ? [{ tokenId: IDS.video, count: mergedTokens(a.clip.grid) }] : []),
      { tokenId: IDS.image, count: mergedTokens(a.still.grid) },
    ];
    const table = ropeTable(
      rope.positions,
      ids.length,
      rope.delta,
      C,
      t.inv_freq,
      t.mrope_section,
      D / 2,
    );
    const kv: Record<string, ort.Tensor> = {};
    for (let l = 0; l < t.layers; l++)
      for (const k of ['key', 'value'])
        kv[`past_${k}.${l}`] = f32(new Float32Array(t.kv_heads * C * D), [1, t.kv_heads, C, D]);
    const seen = seenMask(ids, t.vocab);
    const tables = { cos_cache: f32(table.cos, [C, D / 2]), sin_cache: f32(table.sin, [C, D / 2]) };
    if (ids.length + a.newTokens + 2 > C)
      throw new Error(`capacity ${C} < ${ids.length} prompt + ${a.newTokens} new tokens + 2`);
    let out = await this.decoder.run({
      ...tables,
      ...kv,
      input_ids: i32(ids, [ids.length, 1]),
      visual_rows: i32(visualRows(ids, runs), [ids.length, 1]),
      visual_embeds: feats,
      seqlens_k: i32([ids.length - 1], [1]),
      total_sequence_length: i32([ids.length], []),
      logit_rows: i64([ids.length - 1], [1]),
      seen: f32(seen, [t.vocab]),
    });
    const prefillMs = performance.now() - t0;
    const firstLogits = (out['logits'] as ort.Tensor).data as Float32Array;
    const outputIds = [Number(((out['next_token'] as ort.Tensor).data as Int32Array)[0])];
    const zero = f32(new Float32Array(t.hidden), [1, t.hidden]);
    let past = ids.length;
    t0 = performance.now();
    while (
      outputIds.length < a.newTokens &&
      !a.stops.includes(outputIds[outputIds.length - 1] as number)
    ) {
      const prev = outputIds[outputIds.length - 1] as number;
      for (let l = 0; l < t.layers; l++)
        for (const k of ['key', 'value'])
          kv[`past_${k}.${l}`] = out[`present_${k}.${l}`] as ort.Tensor;
      out = await this.decoder.run({
        ...tables,
        ...kv,
        input_ids: i32([prev], [1, 1]),
        visual_rows: i32([0], [1, 1]),
        visual_embeds: zero,
        seqlens_k: i32([past], [1]),
        total_sequence_length: i32([past + 1], []),
        logit_rows: i64([0], [1]),
        seen: f32(seen, [t.vocab]),
      });
      seen[prev] = 1;
      past++;
      outputIds.push(Number(((out['next_token'] as ort.Tensor).data as Int32Array)[0]));
    }
    const decodeMs = performance.now() - t0;
    const steps = outputIds.length - 1;
    return {
      visionMs,
      prefillMs,
      firstLogits,
      outputIds,
      decodeMs,
      decodeTokensPerS: steps > 0 && decodeMs > 0 ? (steps / decodeMs) * 1000 : null,
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.vision.release(), this.decoder.release()]);
  }
}

/** onnxruntime-node's version (its binding's, as it reports it). */
export const ortNodeVersion = (): string => ort.env.versions.node ?? '?';
