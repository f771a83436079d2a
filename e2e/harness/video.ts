// Browser-test and benchmark harness of the video stage: prepares visuals through the real worker
// client (WebCodecs in a worker) and compares them with reference frames handed in by the test.
import {
  FRAME_SIZE,
  prepareVisualsWithVideoElement,
  resizePillowBicubic,
  resizeTorchBicubicAA,
  type PreparedVisuals,
  type PrepareOptions,
} from '../../src/video/index';
import { VideoClient } from '../../src/worker/index';

let client: VideoClient | null = null;
let last: PreparedVisuals | null = null;

export interface PrepareArgs {
  clipUrl?: string | null;
  clipName?: string | null;
  stillUrl?: string | null;
  stillName?: string | null;
  options?: PrepareOptions;
  /** Runs to time (the result of the last one is kept). */
  repeat?: number;
  /** 'video-element': the no-WebCodecs fallback on this thread instead of the worker. */
  via?: 'worker' | 'video-element';
  /** Hand the worker the (absolute) URLs instead of Blobs: it fetches them itself. */
  asUrls?: boolean;
}

export interface PrepareSummary {
  ok: true;
  indices: number[] | null;
  frameCount: number | null;
  fps: number | null;
  width: number | null;
  height: number | null;
  codec: string | null;
  stillFrom: string;
  frameLengths: number[];
  previews: number[];
  timings: PreparedVisuals['timings'];
  /** Wall time of each run on this thread, Blob in hand to frames in hand (worker transfer included). */
  wallMs: number[];
  decoder: PreparedVisuals['decoder'];
  decodedFrames: number;
  skippedFrames: number;
  /** Per frame (clip frames, then still): per-channel means, min, max, and whether all are integers. */
  stats: { mean: number[]; min: number; max: number; integers: boolean }[];
}

export type Outcome =
  | PrepareSummary
  | { ok: false; error: { name: string; code?: string; file?: string; message: string } };

const blobs = new Map<string, Blob>();

/** The file at `url` as a Blob (null when it does not answer); preloaded files come from memory. */
async function blobFrom(url: string | null | undefined): Promise<Blob | null> {
  if (!url) return null;
  const cached = blobs.get(url);
  if (cached) return cached;
  const res = await fetch(url);
  if (!res.ok) return null;
  return res.blob();
}

/** Fetches files once and keeps them, so that timed runs measure the video stage only. */
async function preload(urls: string[]): Promise<number> {
  let bytes = 0;
  for (const url of urls) {
    const b = await blobFrom(url);
    if (b) {
      blobs.set(url, b);
      bytes += b.size;
    }
  }
  return bytes;
}

function frameStats(f: Float32Array) {
  const plane = FRAME_SIZE * FRAME_SIZE;
  const mean = [0, 0, 0];
  let min = Infinity;
  let max = -Infinity;
  let integers = true;
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      const v = f[i]!;
      s += v;
      if (v < min) min = v;
      if (v > max) max = v;
      if (integers && v !== Math.round(v)) integers = false;
    }
    mean[c] = s / plane;
  }
  return { mean, min, max, integers };
}

async function prepare(args: PrepareArgs): Promise<Outcome> {
  client ??= new VideoClient();
  const abs = (u: string | null | undefined) => (u ? new URL(u, location.href).href : null);
  const clip = args.asUrls ? abs(args.clipUrl) : await blobFrom(args.clipUrl);
  const still = args.asUrls ? abs(args.stillUrl) : await blobFrom(args.stillUrl);
  const wallMs: number[] = [];
  try {
    for (let r = 0; r < (args.repeat ?? 1); r++) {
      last = null;
      const t0 = performance.now();
      const input = {
        clip,
        clipName: args.clipName ?? null,
        still,
        stillName: args.stillName ?? null,
      };
      last =
        args.via === 'video-element'
          ? await prepareVisualsWithVideoElement(input, args.options)
          : await client.prepare(input, args.options);
      wallMs.push(performance.now() - t0);
    }
  } catch (e) {
    const err = e as { name?: string; code?: string; file?: string; message?: string };
    return {
      ok: false,
      error: {
        name: err.name ?? 'Error',
        message: err.message ?? String(e),
        ...(err.code ? { code: err.code } : {}),
        ...(err.file ? { file: err.file } : {}),
      },
    };
  }
  const v = last!;
  return {
    ok: true,
    indices: v.clip?.indices ?? null,
    frameCount: v.clip?.frameCount ?? null,
    fps: v.clip?.fps ?? null,
    width: v.clip?.width ?? null,
    height: v.clip?.height ?? null,
    codec: v.clip?.codec ?? null,
    stillFrom: v.stillFrom,
    frameLengths: [...(v.clip?.frames ?? []), v.still].map((f) => f.length),
    previews: v.previews.map((b) => b.size),
    timings: v.timings,
    wallMs,
    decoder: v.decoder,
    decodedFrames: v.decodedFrames,
    skippedFrames: v.skippedFrames,
    stats: [...(v.clip?.frames ?? []), v.still].map(frameStats),
  };
}

export interface Diff {
  mae: number;
  max: number;
  /** Values that differ at all, and by more than 1. */
  differing: number;
  over1: number;
  count: number;
}

function diff(a: Float32Array, b: Float32Array): Diff {
  let s = 0;
  let max = 0;
  let differing = 0;
  let over1 = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    s += d;
    if (d > max) max = d;
    if (d > 0) differing++;
    if (d > 1) over1++;
  }
  return { mae: s / a.length, max, differing, over1, count: a.length };
}

/** Interleaved rgb24 to planar. */
function planar(rgb: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i] = rgb[3 * i]!;
    out[n + i] = rgb[3 * i + 1]!;
    out[2 * n + i] = rgb[3 * i + 2]!;
  }
  return out;
}

/**
 * Compares the last result with reference frames: `url` serves raw rgb24 frames at source size,
 * concatenated in the order of the sampled indices (as ffmpeg's select filter writes them). Each
 * is resized here with the same resizers; clip frames compare with the clip output, and the last
 * one also, through the Pillow path, with the still when it came from the last frame.
 */
async function compareWithReference(url: string, width: number, height: number) {
  const v = last;
  if (!v?.clip) throw new Error('no clip result to compare');
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const n = width * height;
  const round = v.clip.frames[0]!.every((x) => x === Math.round(x));
  const frames: Diff[] = [];
  let lastPlanar: Uint8Array | null = null;
  for (let k = 0; k < v.clip.frames.length; k++) {
    const src = planar(bytes.subarray(3 * n * k, 3 * n * (k + 1)), n);
    const ref = new Float32Array(3 * FRAME_SIZE * FRAME_SIZE);
    resizeTorchBicubicAA(src, width, height, FRAME_SIZE, FRAME_SIZE, ref, round);
    frames.push(diff(v.clip.frames[k]!, ref));
    lastPlanar = src;
  }
  let still: Diff | null = null;
  if (v.stillFrom === 'last-frame' && lastPlanar) {
    const ref = Float32Array.from(
      resizePillowBicubic(lastPlanar, width, height, FRAME_SIZE, FRAME_SIZE),
    );
    still = diff(v.still, ref);
  }
  return { frames, still, bytes: bytes.length, expectedBytes: 3 * n * v.clip.frames.length };
}

/**
 * MAE of every clip frame of the last result against each of `count` reference frames (raw rgb24
 * at source size, concatenated): rows = output frames, columns = reference frames.
 */
async function maeMatrix(
  url: string,
  width: number,
  height: number,
  count: number,
): Promise<number[][]> {
  const v = last;
  if (!v?.clip) throw new Error('no clip result to compare');
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const n = width * height;
  const refs: Float32Array[] = [];
  for (let k = 0; k < count; k++) {
    const ref = new Float32Array(3 * FRAME_SIZE * FRAME_SIZE);
    resizeTorchBicubicAA(
      planar(bytes.subarray(3 * n * k, 3 * n * (k + 1)), n),
      width,
      height,
      FRAME_SIZE,
      FRAME_SIZE,
      ref,
      true,
    );
    refs.push(ref);
  }
  return v.clip.frames.map((f) => refs.map((r) => diff(f, r).mae));
}

/**
 * Compares the last result's still with Pillow's resize of reference pixels: `url` serves one
 * raw rgb24 image of `width` x `height` (the RGB that Pillow's to_rgb would produce).
 */
async function compareStill(url: string, width: number, height: number): Promise<Diff> {
  const v = last;
  if (!v) throw new Error('no result to compare');
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const src = planar(bytes, width * height);
  const ref = Float32Array.from(resizePillowBicubic(src, width, height, FRAME_SIZE, FRAME_SIZE));
  return diff(v.still, ref);
}

/** Compares the last result's still with a 252 x 252 raw rgb24 image (a reference already resized). */
async function compareStillResized(url: string): Promise<Diff> {
  const v = last;
  if (!v) throw new Error('no result to compare');
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  return diff(v.still, Float32Array.from(planar(bytes, FRAME_SIZE * FRAME_SIZE)));
}

/** Per-channel means and the values at `positions` ([y, x]) of every frame of the last result (clip frames, then still). */
function frameSamples(
  positions: [number, number][],
): { meanRgb: number[]; valuesRgb: number[][] }[] {
  const v = last;
  if (!v) throw new Error('no result');
  const plane = FRAME_SIZE * FRAME_SIZE;
  return [...(v.clip?.frames ?? []), v.still].map((f) => ({
    meanRgb: frameStats(f).mean,
    valuesRgb: positions.map(([y, x]) => [0, 1, 2].map((c) => f[c * plane + y * FRAME_SIZE + x]!)),
  }));
}

/** Values of the last result's frame k (clip frames, then still) at the given (channel, y, x). */
function valuesAt(k: number, points: [number, number, number][]): number[] {
  const v = last;
  if (!v) throw new Error('no result');
  const all = [...(v.clip?.frames ?? []), v.still];
  const f = all[k]!;
  return points.map(([c, y, x]) => f[c * FRAME_SIZE * FRAME_SIZE + y * FRAME_SIZE + x]!);
}

function dispose(): void {
  client?.dispose();
  client = null;
  last = null;
}

const api = {
  prepare,
  preload,
  compareWithReference,
  compareStill,
  compareStillResized,
  maeMatrix,
  frameSamples,
  valuesAt,
  dispose,
  hasWebCodecs: () => typeof VideoDecoder !== 'undefined',
};
export type VideoHarness = typeof api;
(window as unknown as { videoHarness: typeof api }).videoHarness = api;
document.querySelector('#log')!.textContent = 'ready';
