// Fallback for browsers without WebCodecs: the same demuxing, frame count and sampled indices, but
// frames come from seeking a <video> element and drawing it to a canvas. The browser's own
// YUV->RGB conversion (chroma interpolation, its own rounding) is used, so pixels are close to the
// reference but NOT bit-exact: results carry decoder 'video-element'. Main thread only (needs the
// DOM); written against the few DOM members it uses so that it type-checks in worker code too.
import {
  ALL_FORMATS,
  BlobSource,
  EncodedPacketSink,
  Input,
  UnsupportedInputFormatError,
} from 'mediabunny';
import { VideoError } from './errors';
import {
  FRAME_SIZE,
  prepareStill,
  previewsOf,
  resolveSource,
  type ClipFrames,
  type PreparedVisuals,
  type PrepareInput,
  type PrepareOptions,
} from './prepare';
import { resizePillowBicubic, resizeTorchBicubicAA } from './resize';
import { sampleFrameIndices } from './sampling';
import { rgbaToPlanarRgb } from './still';

interface VideoLike {
  src: string;
  muted: boolean;
  preload: string;
  currentTime: number;
  videoWidth: number;
  videoHeight: number;
  error: { code: number; message: string } | null;
  addEventListener(type: string, fn: () => void, opts?: { once?: boolean }): void;
  requestVideoFrameCallback?(fn: () => void): number;
  removeAttribute(name: string): void;
  load(): void;
}

function createVideo(): VideoLike {
  const doc = (globalThis as unknown as { document?: { createElement(tag: 'video'): VideoLike } })
    .document;
  if (!doc) throw new Error('the <video> fallback needs the main thread');
  return doc.createElement('video');
}

function once(video: VideoLike, ok: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    video.addEventListener(ok, () => resolve(), { once: true });
    video.addEventListener(
      'error',
      () => {
        const code = video.error?.code;
        reject(
          new VideoError(
            code === 4 ? 'unsupported-codec' : 'corrupt',
            name,
            `the <video> element failed (${video.error?.message || `MediaError ${code}`})`,
          ),
        );
      },
      { once: true },
    );
  });
}

/** True when this browser has no WebCodecs VideoDecoder (the fallback is then the only way). */
export function needsVideoElementFallback(): boolean {
  return typeof VideoDecoder === 'undefined';
}

/** prepareVisuals through a <video> element. Same sampling and resizers; approximate pixels. */
export async function prepareVisualsWithVideoElement(
  input: PrepareInput,
  options: PrepareOptions = {},
): Promise<PreparedVisuals> {
  const tStart = performance.now();
  const timings = { demuxMs: 0, decodeMs: 0, convertMs: 0, resizeMs: 0, totalMs: 0 };
  const size = FRAME_SIZE;
  const round = (options.clipValues ?? 'uint8') === 'uint8';
  if (input.clip === null && input.clipName !== null)
    throw new VideoError('missing', input.clipName, 'the clip file is missing');
  if (input.still === null && input.stillName !== null)
    throw new VideoError('missing', input.stillName, 'the still image file is missing');
  if (input.clip === null && input.still === null)
    throw new VideoError(
      'missing',
      '(question)',
      'the question has neither a clip nor a still image',
    );
  let clip: ClipFrames | null = null;
  let still: Float32Array | null = null;

  if (input.clip !== null) {
    const name = input.clipName ?? 'clip';
    const t0 = performance.now();
    const clipBlob = await resolveSource(input.clip, name);
    const demux = new Input({ source: new BlobSource(clipBlob), formats: ALL_FORMATS });
    let timestamps: number[];
    let fps: number;
    let codec: string;
    try {
      const track = await demux.getPrimaryVideoTrack().catch((e: unknown) => {
        throw new VideoError(
          e instanceof UnsupportedInputFormatError ? 'not-a-video' : 'corrupt',
          name,
          String(e),
        );
      });
      if (!track) throw new VideoError('not-a-video', name, 'the file has no video track');
      codec = (await track.getCodec()) ?? 'unknown';
      const timescale = await track.getTimeResolution();
      const sink = new EncodedPacketSink(track);
      timestamps = [];
      let ticks = 0;
      for await (const p of sink.packets(undefined, undefined, { metadataOnly: true })) {
        timestamps.push(p.timestamp);
        ticks += Math.round(p.duration * timescale);
      }
      timestamps.sort((a, b) => a - b);
      fps = (timestamps.length * timescale) / ticks;
    } finally {
      demux.dispose();
    }
    timings.demuxMs = performance.now() - t0;
    const frameCount = timestamps.length;
    const indices = sampleFrameIndices(frameCount, fps);
    if (indices.length === 0) {
      throw new VideoError(
        'too-few-frames',
        name,
        `the clip has ${frameCount} frame(s); at least 2 are needed`,
      );
    }
    const url = URL.createObjectURL(clipBlob);
    const video = createVideo();
    try {
      video.muted = true;
      video.preload = 'auto';
      const loaded = once(video, 'loadeddata', name);
      video.src = url;
      await loaded;
      const w = video.videoWidth;
      const h = video.videoHeight;
      const canvas = new OffscreenCanvas(w, h);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      if (!ctx) throw new VideoError('corrupt', name, 'no 2D canvas');
      const first = timestamps[0] ?? 0;
      const frames: Float32Array[] = [];
      for (const i of indices) {
        // Aim at the middle of the frame's display interval so rounding cannot land on a neighbour.
        const t = (timestamps[i] ?? 0) - first + 0.5 / fps;
        const td = performance.now();
        // 'seeked' can fire before the new frame is composited (seen under load): also wait for
        // the frame callback, registered before the seek, or 500 ms where there is none.
        const presented = new Promise<void>((resolve) => {
          if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => resolve());
          setTimeout(resolve, 500);
        });
        const seeked = once(video, 'seeked', name);
        video.currentTime = t;
        await seeked;
        await presented;
        ctx.drawImage(video as unknown as CanvasImageSource, 0, 0, w, h);
        const rgb = rgbaToPlanarRgb(ctx.getImageData(0, 0, w, h).data, w, h);
        const tr = performance.now();
        timings.decodeMs += tr - td;
        const out = new Float32Array(3 * size * size);
        resizeTorchBicubicAA(rgb, w, h, size, size, out, round);
        frames.push(out);
        if (input.still === null && i === frameCount - 1) {
          still = Float32Array.from(resizePillowBicubic(rgb, w, h, size, size));
        }
        timings.resizeMs += performance.now() - tr;
      }
      clip = {
        frames,
        indices,
        timestampsS: indices.map((i) => timestamps[i] ?? NaN),
        frameCount,
        fps,
        width: w,
        height: h,
        codec,
      };
    } finally {
      video.removeAttribute('src');
      video.load();
      URL.revokeObjectURL(url);
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
    stillFrom: input.still === null ? 'last-frame' : 'image',
    previews,
    timings,
    decoder: 'video-element',
    decodedFrames: clip?.indices.length ?? 0,
    skippedFrames: 0,
  };
}
