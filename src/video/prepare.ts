// prepareVisuals: one question's clip and still, turned into exactly the frames the official
// pipeline feeds the model (protocol.md section 2).
import { decodeFrames, type RgbFrame } from './decode';
import { openClip } from './demux';
import { VideoError } from './errors';
import { framePreview } from './previews';
import { resizePillowBicubic, resizeTorchBicubicAA } from './resize';
import { sampleFrameIndices } from './sampling';
import { decodeImage } from './still';

/** Every visual becomes FRAME_SIZE x FRAME_SIZE (the official code forces 256, smart_resize gives 252). */
export const FRAME_SIZE = 252;

/** Planar CHW float32, 3 * 252 * 252 values (R plane, G plane, B plane), 0..255 scale. */
export type VisualFrame = Float32Array;

export interface ClipFrames {
  frames: Float32Array[];
  /** Sampled frame indices (presentation order, 0-based). */
  indices: number[];
  timestampsS: number[];
  frameCount: number;
  fps: number;
  /** Source size, after any rotation the container asks for. */
  width: number;
  height: number;
  /** WebCodecs codec string, e.g. avc1.64001e. */
  codec: string;
}

export interface PreparedVisuals {
  clip: ClipFrames | null;
  still: VisualFrame;
  /** 'image': the question's own still; 'last-frame': frame N - 1 of the clip, resized as an image. */
  stillFrom: 'image' | 'last-frame';
  /** JPEG thumbnails: clip frames, then the still. Empty unless asked for. */
  previews: Blob[];
  timings: {
    demuxMs: number;
    decodeMs: number;
    convertMs: number;
    resizeMs: number;
    totalMs: number;
  };
  /** 'webcodecs' reproduces the reference pixels; 'video-element' (fallback) does not. */
  decoder: 'webcodecs' | 'video-element';
  /** Frames the decoder produced / skipped (non-reference pictures nobody needed). */
  decodedFrames: number;
  skippedFrames: number;
}

export interface PrepareInput {
  /** A File or Blob, or a URL to fetch (clips are small: the whole file is read). */
  clip: Blob | string | null;
  clipName: string | null;
  still: Blob | string | null;
  stillName: string | null;
}

/** A Blob as is; a URL fetched whole. A URL that cannot be fetched is a missing file. */
export async function resolveSource(source: Blob | string, name: string): Promise<Blob> {
  if (typeof source !== 'string') return source;
  let res: Response;
  try {
    res = await fetch(source);
  } catch (e) {
    throw new VideoError(
      'missing',
      name,
      `cannot fetch ${source}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!res.ok) throw new VideoError('missing', name, `cannot fetch ${source}: HTTP ${res.status}`);
  return res.blob();
}

export interface PrepareOptions {
  previews?: boolean;
  /**
   * 'uint8' (default, official): the resized frame is clamped and rounded to integers, as
   * torchvision does for the uint8 tensors decord returns. 'float': the raw float interpolation.
   */
  clipValues?: 'uint8' | 'float';
  /** VideoDecoders working on different GOPs at once (default 2). */
  decoders?: number;
}

/** Rotates planar RGB clockwise by 90, 180 or 270 degrees (the container's display rotation). */
function rotatePlanar(src: Uint8Array, w: number, h: number, rotation: 90 | 180 | 270): Uint8Array {
  const out = new Uint8Array(3 * w * h);
  const ow = rotation === 180 ? w : h;
  for (let c = 0; c < 3; c++) {
    const base = c * w * h;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let ox: number;
        let oy: number;
        if (rotation === 90) [ox, oy] = [h - 1 - y, x];
        else if (rotation === 180) [ox, oy] = [w - 1 - x, h - 1 - y];
        else [ox, oy] = [y, w - 1 - x];
        out[base + oy * ow + ox] = src[base + y * w + x] ?? 0;
      }
    }
  }
  return out;
}

/** A still image file: decoded like Pillow opens it, resized with Pillow's bicubic. */
export async function prepareStill(
  source: Blob | string,
  stillName: string | null,
  size: number,
  timings: { decodeMs: number; resizeMs: number },
): Promise<VisualFrame> {
  const name = stillName ?? 'still';
  const t0 = performance.now();
  const img = await decodeImage(await resolveSource(source, name), name);
  const t1 = performance.now();
  const still = Float32Array.from(resizePillowBicubic(img.rgb, img.width, img.height, size, size));
  timings.decodeMs += t1 - t0;
  timings.resizeMs += performance.now() - t1;
  return still;
}

/** JPEG thumbnails of the clip frames, then the still. */
export async function previewsOf(
  clip: ClipFrames | null,
  still: VisualFrame,
  size: number,
): Promise<Blob[]> {
  const previews: Blob[] = [];
  for (const frame of [...(clip?.frames ?? []), still]) {
    previews.push(await framePreview(frame, size));
  }
  return previews;
}

export async function prepareVisuals(
  input: PrepareInput,
  options: PrepareOptions = {},
): Promise<PreparedVisuals> {
  const tStart = performance.now();
  const timings = { demuxMs: 0, decodeMs: 0, convertMs: 0, resizeMs: 0, totalMs: 0 };
  const round = (options.clipValues ?? 'uint8') === 'uint8';
  if (input.clip === null && input.clipName !== null) {
    throw new VideoError('missing', input.clipName, 'the clip file is missing');
  }
  if (input.still === null && input.stillName !== null) {
    throw new VideoError('missing', input.stillName, 'the still image file is missing');
  }
  if (input.clip === null && input.still === null) {
    throw new VideoError(
      'missing',
      '(question)',
      'the question has neither a clip nor a still image',
    );
  }
  const size = FRAME_SIZE;
  let clip: ClipFrames | null = null;
  let still: Float32Array | null = null;
  let stillFrom: PreparedVisuals['stillFrom'] = 'image';
  let decodedFrames = 0;
  let skippedFrames = 0;

  if (input.clip !== null) {
    const name = input.clipName ?? 'clip';
    const t0 = performance.now();
    const opened = await openClip(await resolveSource(input.clip, name), name);
    timings.demuxMs = performance.now() - t0;
    try {
      const frameCount = opened.frames.length;
      const indices = sampleFrameIndices(frameCount, opened.fps);
      if (indices.length === 0) {
        throw new VideoError(
          'too-few-frames',
          name,
          `the clip has ${frameCount} frame(s); at least 2 are needed`,
        );
      }
      const lastFromClip = input.still === null;
      const frames: Float32Array[] = new Array<Float32Array>(indices.length);
      const slot = new Map(indices.map((v, k) => [v, k]));
      let width = 0;
      let height = 0;
      let resizeInCallback = 0;
      const onFrame = (f: RgbFrame) => {
        const t = performance.now();
        let rgb = f.rgb;
        let w = f.width;
        let h = f.height;
        if (opened.rotation !== 0) {
          rgb = rotatePlanar(rgb, w, h, opened.rotation);
          if (opened.rotation !== 180) [w, h] = [h, w];
        }
        width = w;
        height = h;
        const out = new Float32Array(3 * size * size);
        resizeTorchBicubicAA(rgb, w, h, size, size, out, round);
        frames[slot.get(f.index) ?? 0] = out;
        if (lastFromClip && f.index === frameCount - 1) {
          still = Float32Array.from(resizePillowBicubic(rgb, w, h, size, size));
        }
        resizeInCallback += performance.now() - t;
      };
      const d = await decodeFrames(opened, name, indices, onFrame, options.decoders ?? 2);
      timings.convertMs = d.convertMs;
      timings.resizeMs = resizeInCallback;
      timings.decodeMs = d.wallMs - d.convertMs - resizeInCallback;
      decodedFrames = d.decodedFrames;
      skippedFrames = d.skippedFrames;
      if (lastFromClip) stillFrom = 'last-frame';
      clip = {
        frames,
        indices,
        timestampsS: indices.map((i) => opened.frames[i]?.timestamp ?? NaN),
        frameCount,
        fps: opened.fps,
        width,
        height,
        codec: opened.codec,
      };
    } finally {
      opened.input.dispose();
    }
  }

  if (input.still !== null) still = await prepareStill(input.still, input.stillName, size, timings);
  if (still === null)
    throw new VideoError('corrupt', input.clipName ?? 'clip', 'the last frame was not decoded');
  const previews = options.previews ? await previewsOf(clip, still, size) : [];
  timings.totalMs = performance.now() - tStart;
  return {
    clip,
    still,
    stillFrom,
    previews,
    timings,
    decoder: 'webcodecs',
    decodedFrames,
    skippedFrames,
  };
}
