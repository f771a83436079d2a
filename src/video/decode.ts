// Decoding with WebCodecs, only what the sampled frames need, and conversion to RGB.
import type { EncodedPacket } from 'mediabunny';
import { describe, type OpenedClip, type PacketInfo } from './demux';
import { VideoError } from './errors';
import { isAvcIdr, isDisposableAvcPicture } from './h264';
import { yuv420ToRgbPlanar } from './yuv';

/** A decoded frame, converted to planar RGB bytes (reused buffer: consume it synchronously). */
export interface RgbFrame {
  index: number;
  timestampS: number;
  rgb: Uint8Array;
  width: number;
  height: number;
}

export interface DecodeTimings {
  /** Wall time of the whole decode, conversion and `onFrame` work included. */
  wallMs: number;
  convertMs: number;
  decodedFrames: number;
  skippedFrames: number;
}

interface Run {
  keySeq: number;
  maxSeq: number;
  /** Decode-order sequence numbers wanted in this run. */
  wanted: Set<number>;
}

/** Frame i of the clip; indices come from sampleFrameIndices(frames.length), so always in range. */
function frameAt(clip: OpenedClip, i: number): PacketInfo {
  const p = clip.frames[i];
  if (!p) throw new RangeError(`frame ${i} is outside the clip (${clip.frames.length} frames)`);
  return p;
}

/** Groups the wanted frames by the key frame they depend on (the last key at or before them). */
function planRuns(clip: OpenedClip, indices: number[]): Run[] {
  const bySeq = [...clip.frames].sort((a, b) => a.sequenceNumber - b.sequenceNumber);
  const keys = bySeq.filter((p) => p.key);
  const keyBefore = new Map<number, number>(); // sequence number -> index into keys
  let lastKey = -1;
  for (const p of bySeq) {
    if (p.key) lastKey++;
    keyBefore.set(p.sequenceNumber, lastKey);
  }
  const runs = new Map<number, Run>();
  for (const i of indices) {
    const p = frameAt(clip, i);
    let k = keyBefore.get(p.sequenceNumber) ?? -1;
    // A picture shown before the key frame it follows in decode order is a leading picture of an
    // open GOP: it may reference the previous GOP, so start one key earlier. (Never the case in
    // closed GOPs, where an IDR resets the picture order.)
    if (k > 0 && (keys[k]?.timestamp ?? 0) > p.timestamp) k--;
    const keySeq = k < 0 ? (bySeq[0]?.sequenceNumber ?? 0) : (keys[k]?.sequenceNumber ?? 0);
    const run = runs.get(keySeq) ?? { keySeq, maxSeq: p.sequenceNumber, wanted: new Set<number>() };
    run.maxSeq = Math.max(run.maxSeq, p.sequenceNumber);
    run.wanted.add(p.sequenceNumber);
    runs.set(keySeq, run);
  }
  // Runs that overlap (an open-GOP run reaching into the next) are merged into one.
  const sorted = [...runs.values()].sort((a, b) => a.keySeq - b.keySeq);
  const merged: Run[] = [];
  for (const run of sorted) {
    const prev = merged.at(-1);
    if (prev && run.keySeq <= prev.maxSeq) {
      prev.maxSeq = Math.max(prev.maxSeq, run.maxSeq);
      for (const s of run.wanted) prev.wanted.add(s);
    } else {
      merged.push(run);
    }
  }
  return merged;
}

/**
 * Spreads runs over `lanes` decoders, longest first onto the least loaded (runs are independent:
 * each starts at a key frame), keeping each lane in file order.
 */
function splitRuns(runs: Run[], lanes: number): Run[][] {
  const out: Run[][] = Array.from({ length: Math.min(lanes, runs.length) }, () => []);
  const load = out.map(() => 0);
  for (const run of [...runs].sort((a, b) => b.maxSeq - b.keySeq - (a.maxSeq - a.keySeq))) {
    const k = load.indexOf(Math.min(...load));
    out[k]?.push(run);
    load[k] = (load[k] ?? 0) + run.maxSeq - run.keySeq + 1;
  }
  for (const lane of out) lane.sort((a, b) => a.keySeq - b.keySeq);
  return out;
}

/**
 * Decodes the frames at the given presentation indices and hands each to `onFrame` (in
 * presentation order within a GOP, GOP by GOP). Every VideoFrame is closed as soon as it has been
 * copied out; frames nobody asked for are closed on arrival, disposable ones are never decoded.
 * `decoders` VideoDecoders work on different GOPs at once (the browser decodes each on its own
 * thread); the conversion of their output stays on this thread.
 */
export async function decodeFrames(
  clip: OpenedClip,
  name: string,
  indices: number[],
  onFrame: (frame: RgbFrame) => void,
  decoders = 2,
): Promise<DecodeTimings> {
  const timings: DecodeTimings = { wallMs: 0, convertMs: 0, decodedFrames: 0, skippedFrames: 0 };
  const wantedIndex = new Map<number, number>(); // microsecond timestamp -> frame index
  for (const i of indices) wantedIndex.set(Math.round(frameAt(clip, i).timestamp * 1e6), i);
  const delivered = new Set<number>();
  let failure: unknown = null;
  let copyBuf = new Uint8Array(0);
  let rgb = new Uint8Array(0);
  let pending: Promise<void> = Promise.resolve();

  const handle = async (frame: VideoFrame): Promise<void> => {
    try {
      const index = wantedIndex.get(frame.timestamp);
      if (index === undefined || delivered.has(index) || failure) return;
      const t0 = performance.now();
      const format = frame.format;
      if (format !== 'I420' && format !== 'I420A' && format !== 'NV12') {
        throw new VideoError(
          'unsupported-codec',
          name,
          `decoded pixel format ${format ?? 'opaque'} is not 4:2:0 8-bit`,
        );
      }
      const size = frame.allocationSize();
      if (copyBuf.length < size) copyBuf = new Uint8Array(size);
      const layout = await frame.copyTo(copyBuf);
      const width = frame.visibleRect?.width ?? frame.codedWidth;
      const height = frame.visibleRect?.height ?? frame.codedHeight;
      if (rgb.length < 3 * width * height) rgb = new Uint8Array(3 * width * height);
      yuv420ToRgbPlanar(
        copyBuf,
        {
          format: format === 'NV12' ? 'NV12' : 'I420',
          width,
          height,
          offsets: layout.map((l) => l.offset),
          strides: layout.map((l) => l.stride),
        },
        clip.tables,
        rgb,
      );
      timings.convertMs += performance.now() - t0;
      delivered.add(index);
      onFrame({ index, timestampS: frameAt(clip, index).timestamp, rgb, width, height });
    } finally {
      frame.close();
    }
  };

  let onFailure: () => void = () => undefined;
  const failed = new Promise<void>((resolve) => (onFailure = resolve));
  const fail = (e: unknown) => {
    failure ??= e;
    onFailure();
  };

  const makeDecoder = () =>
    new VideoDecoder({
      output: (frame) => {
        timings.decodedFrames++;
        if (!wantedIndex.has(frame.timestamp) || failure) {
          frame.close();
          return;
        }
        pending = pending.then(() => handle(frame)).catch(fail);
      },
      error: (e) =>
        fail(new VideoError('corrupt', name, `the decoder failed: ${e.message}`, { cause: e })),
    });

  const flush = (decoder: VideoDecoder) =>
    decoder.flush().catch((e: unknown) => {
      fail(new VideoError('corrupt', name, `the decoder failed: ${describe(e)}`, { cause: e }));
    });

  /**
   * Decodes a list of runs with one decoder. Between runs the decoder is flushed, except before
   * an H.264 IDR picture, which starts a fresh sequence by itself (saves a pipeline drain).
   */
  const decodeLane = async (runs: Run[]): Promise<void> => {
    const decoder = makeDecoder();
    try {
      decoder.configure(clip.config);
      for (const [k, run] of runs.entries()) {
        if (failure) return;
        await feedRun(decoder, run, k > 0);
      }
      if (!failure) await flush(decoder);
    } finally {
      if (decoder.state !== 'closed') decoder.close();
    }
  };

  const feedRun = async (decoder: VideoDecoder, run: Run, afterAnother: boolean): Promise<void> => {
    const keyInfo = clip.frames.find((p) => p.sequenceNumber === run.keySeq);
    if (!keyInfo)
      throw new VideoError('corrupt', name, `no packet with sequence number ${run.keySeq}`);
    let packet: EncodedPacket | null;
    try {
      packet = await clip.sink.getPacket(keyInfo.timestamp);
    } catch (e) {
      throw new VideoError('corrupt', name, `cannot read frame data: ${describe(e)}`, { cause: e });
    }
    if (!packet || packet.sequenceNumber !== run.keySeq) {
      throw new VideoError(
        'corrupt',
        name,
        `key frame at ${keyInfo.timestamp.toFixed(3)} s is unreadable`,
      );
    }
    if (
      afterAnother &&
      !(clip.nalLengthSize !== null && isAvcIdr(packet.data, clip.nalLengthSize))
    ) {
      await flush(decoder);
    }
    try {
      for await (const p of clip.sink.packets(packet)) {
        if (failure || p.sequenceNumber > run.maxSeq) break;
        const disposable =
          clip.nalLengthSize !== null &&
          p.type !== 'key' &&
          !run.wanted.has(p.sequenceNumber) &&
          isDisposableAvcPicture(p.data, clip.nalLengthSize);
        if (disposable) {
          timings.skippedFrames++;
          continue;
        }
        if (p.data.byteLength === 0) throw new Error(`empty packet at ${p.timestamp.toFixed(3)} s`);
        decoder.decode(
          new EncodedVideoChunk({
            type: p.type,
            timestamp: Math.round(p.timestamp * 1e6),
            duration: Math.round(p.duration * 1e6),
            data: p.data,
          }),
        );
        if (decoder.decodeQueueSize > 24) {
          await Promise.race([
            new Promise((resolve) => decoder.addEventListener('dequeue', resolve, { once: true })),
            failed,
          ]);
        }
      }
    } catch (e) {
      if (e instanceof VideoError) throw e;
      throw new VideoError(
        'corrupt',
        name,
        `cannot read frame data (truncated file?): ${describe(e)}`,
        {
          cause: e,
        },
      );
    }
  };

  const t0 = performance.now();
  try {
    const lanes = splitRuns(planRuns(clip, indices), Math.max(1, Math.floor(decoders)));
    const results = await Promise.allSettled(lanes.map(decodeLane));
    for (const r of results) if (r.status === 'rejected') fail(r.reason);
    await pending;
    if (failure)
      throw failure instanceof Error ? failure : new Error('decoding failed', { cause: failure });
    const missing = indices.filter((i) => !delivered.has(i));
    if (missing.length > 0) {
      throw new VideoError(
        'corrupt',
        name,
        `the decoder produced no picture for frame(s) ${missing.slice(0, 5).join(', ')} (frame data truncated or damaged)`,
      );
    }
  } finally {
    timings.wallMs = performance.now() - t0;
  }
  return timings;
}
