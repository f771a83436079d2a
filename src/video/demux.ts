// Demuxing with mediabunny: opening a clip, counting its frames and reading its frame rate the way
// decord (the official reader) does. N = number of video packets in the container, frame i = the
// i-th packet in presentation (timestamp) order, fps = the stream's average frame rate as
// libavformat's mov demuxer computes it (samples * timescale / sum of sample durations). No frame
// data is decoded here.
import {
  ALL_FORMATS,
  BlobSource,
  EncodedPacketSink,
  Input,
  UnsupportedInputFormatError,
  type InputVideoTrack,
} from 'mediabunny';
import { VideoError } from './errors';
import { avcNalLengthSize, isAvcIdr } from './h264';
import { matrixFromColorSpace, yuvTables, type YuvTables } from './yuv';

export interface PacketInfo {
  /** Presentation time in seconds. */
  timestamp: number;
  /** Decode order. */
  sequenceNumber: number;
  /** Decoding can start here (for H.264: an IDR picture). */
  key: boolean;
}

const ROTATIONS = [0, 90, 180, 270] as const;

export interface OpenedClip {
  input: Input;
  track: InputVideoTrack;
  sink: EncodedPacketSink;
  config: VideoDecoderConfig;
  codec: string;
  /** Packets in presentation order: frame i is frames[i]. */
  frames: PacketInfo[];
  fps: number;
  width: number;
  height: number;
  rotation: 0 | 90 | 180 | 270;
  tables: YuvTables;
  nalLengthSize: number | null;
}

async function sniff(blob: Blob): Promise<'mp4' | 'other-media' | 'unknown'> {
  const head = new Uint8Array(await blob.slice(0, 12).arrayBuffer());
  const ascii = String.fromCharCode(...head.subarray(4, 8));
  if (['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip'].includes(ascii)) return 'mp4';
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3)
    return 'other-media';
  return 'unknown';
}

/** Walks the top-level MP4 boxes: is there an index (moov), and does the last box run past the end? */
async function scanMp4(blob: Blob): Promise<{ moov: boolean; truncated: boolean }> {
  let offset = 0;
  let moov = false;
  for (let i = 0; i < 1000 && offset + 8 <= blob.size; i++) {
    const head = new DataView(await blob.slice(offset, offset + 16).arrayBuffer());
    let size = head.getUint32(0);
    const type = String.fromCharCode(
      head.getUint8(4),
      head.getUint8(5),
      head.getUint8(6),
      head.getUint8(7),
    );
    if (size === 1 && head.byteLength >= 16) size = Number(head.getBigUint64(8));
    if (size === 0) size = blob.size - offset;
    if (size < 8) return { moov, truncated: true };
    if (type === 'moov') moov = true;
    if (offset + size > blob.size) return { moov, truncated: true };
    offset += size;
  }
  return { moov, truncated: offset < blob.size && offset + 8 > blob.size };
}

export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Opens a clip and indexes its packets (timestamps only: no frame data is read or decoded). */
export async function openClip(blob: Blob, name: string): Promise<OpenedClip> {
  if (blob.size === 0) throw new VideoError('not-a-video', name, 'the file is empty');
  const kind = await sniff(blob);
  const input = new Input({ source: new BlobSource(blob), formats: ALL_FORMATS });
  try {
    let track: InputVideoTrack | null;
    try {
      track = await input.getPrimaryVideoTrack();
    } catch (e) {
      if (e instanceof UnsupportedInputFormatError && kind === 'unknown') {
        throw new VideoError('not-a-video', name, 'not a video file (no known container format)', {
          cause: e,
        });
      }
      throw new VideoError(
        'corrupt',
        name,
        `cannot read the container (truncated or damaged?): ${describe(e)}`,
        {
          cause: e,
        },
      );
    }
    if (!track) {
      const scan = kind === 'mp4' ? await scanMp4(blob) : null;
      if (scan && (!scan.moov || scan.truncated)) {
        throw new VideoError(
          'corrupt',
          name,
          scan.moov
            ? 'the MP4 file is truncated'
            : 'the MP4 file has no index (moov box): truncated or damaged',
        );
      }
      throw new VideoError('not-a-video', name, 'the file has no video track');
    }
    const codecName = (await track.getCodec()) ?? 'unknown';
    const trackConfig = await track.getDecoderConfig();
    if (!trackConfig)
      throw new VideoError('unsupported-codec', name, `codec ${codecName} cannot be decoded here`);
    if (typeof VideoDecoder === 'undefined') {
      throw new VideoError('no-webcodecs', name, 'this browser has no WebCodecs VideoDecoder');
    }
    // Software decoding first: CPU-side I420 frames, the same decoder on every machine. A
    // hardware decoder (if that is all there is) is also bit-exact for H.264 by the standard.
    let config: VideoDecoderConfig = { ...trackConfig, hardwareAcceleration: 'prefer-software' };
    let support = await VideoDecoder.isConfigSupported(config).catch(() => ({ supported: false }));
    if (!support.supported) {
      config = trackConfig;
      support = await VideoDecoder.isConfigSupported(config).catch(() => ({ supported: false }));
    }
    if (!support.supported) {
      throw new VideoError(
        'unsupported-codec',
        name,
        `codec ${codecName} (${config.codec}) is not supported by this browser's decoder`,
      );
    }
    const sink = new EncodedPacketSink(track);
    const frames: PacketInfo[] = [];
    let durationTicks = 0;
    const timescale = await track.getTimeResolution();
    try {
      for await (const p of sink.packets(undefined, undefined, { metadataOnly: true })) {
        frames.push({
          timestamp: p.timestamp,
          sequenceNumber: p.sequenceNumber,
          key: p.type === 'key',
        });
        durationTicks += Math.round(p.duration * timescale);
      }
    } catch (e) {
      throw new VideoError('corrupt', name, `cannot read the packet index: ${describe(e)}`, {
        cause: e,
      });
    }
    frames.sort((a, b) => a.timestamp - b.timestamp || a.sequenceNumber - b.sequenceNumber);
    const nalLengthSize = codecName === 'avc' ? avcNalLengthSize(trackConfig.description) : null;
    if (nalLengthSize !== null) {
      // Open GOPs: a sync sample may be a non-IDR I picture, which Chromium's decoder will not
      // start from (and whose leading pictures need the previous GOP). Decoding starts at IDRs
      // only (the first picture always counts as a start).
      const firstSeq = Math.min(...frames.map((p) => p.sequenceNumber));
      for (const p of frames) {
        if (!p.key || p.sequenceNumber === firstSeq) continue;
        const packet = await sink.getPacket(p.timestamp).catch(() => null);
        p.key = packet !== null && isAvcIdr(packet.data, nalLengthSize);
      }
    }
    // libavformat: avg_frame_rate = sample_count * timescale / sum(stts durations).
    const fps = durationTicks > 0 ? (frames.length * timescale) / durationTicks : NaN;
    const colorSpace = await track.getColorSpace();
    const degrees = (((await track.getRotation()) % 360) + 360) % 360;
    const rotation = ROTATIONS.find((r) => r === degrees) ?? 0;
    return {
      input,
      track,
      sink,
      config,
      codec: config.codec,
      frames,
      fps,
      width: await track.getCodedWidth(),
      height: await track.getCodedHeight(),
      rotation,
      tables: yuvTables(matrixFromColorSpace(colorSpace.matrix), colorSpace.fullRange === true),
      nalLengthSize,
    };
  } catch (e) {
    input.dispose();
    throw e;
  }
}
