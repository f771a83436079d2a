import {
  errorMessage,
  matchSampleMedia,
  type ClipValues,
  type ErrorStage,
  type Sample,
} from '../bench/index';
import type { ModelVisuals } from '../model/index';
import { VideoClient } from '../worker/index';
import type { MediaLibrary } from './media';

/** A question's visuals ready for the model, or why not (never a rejected promise). */
export type Prepared =
  | {
      ok: true;
      visuals: ModelVisuals;
      previews: Blob[];
      indices: number[] | null;
      timestampsS: number[] | null;
      stillFrom: 'image' | 'last-frame';
      timings: Record<string, number>;
      /** The files read (a spot check plays the same clip). */
      files: { clip: Blob | null; still: Blob | null };
    }
  | { ok: false; stage: ErrorStage; message: string };

let video: VideoClient | null = null;

function videoClient(): VideoClient {
  video ??= new VideoClient();
  return video;
}

/** Finds the question's files in the library and runs the video stage on them (in its worker). */
export async function prepareQuestion(
  sample: Sample,
  media: MediaLibrary | null,
  clipValues: ClipValues,
): Promise<Prepared> {
  if (!media) return { ok: false, stage: 'clip', message: 'no video folder picked' };
  const match = matchSampleMedia(media.index, sample);
  if (match.missing.length > 0) {
    const what = match.missing.join(', ');
    return {
      ok: false,
      stage: match.clip === null && sample.hasClip ? 'clip' : 'still',
      message: `missing file ${what} (not in ${media.label})`,
    };
  }
  let clip: Blob | null;
  let still: Blob | null;
  try {
    clip = match.clip ? await media.open(match.clip) : null;
  } catch (e) {
    return { ok: false, stage: 'clip', message: errorMessage(e) };
  }
  try {
    still = match.still ? await media.open(match.still) : null;
  } catch (e) {
    return { ok: false, stage: 'still', message: errorMessage(e) };
  }
  try {
    const v = await videoClient().prepare(
      { clip, clipName: match.clip, still, stillName: match.still },
      { previews: true, clipValues },
    );
    return {
      ok: true,
      visuals: v,
      previews: v.previews,
      indices: v.clip?.indices ?? null,
      timestampsS: v.clip?.timestampsS ?? null,
      stillFrom: v.stillFrom,
      timings: prefixed('video', v.timings),
      files: { clip, still },
    };
  } catch (e) {
    const message = errorMessage(e);
    const stage: ErrorStage = match.still && message.includes(match.still) ? 'still' : 'clip';
    return { ok: false, stage, message };
  }
}

function prefixed(prefix: string, t: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(t)) {
    if (typeof v === 'number') out[`${prefix}${k[0]?.toUpperCase()}${k.slice(1)}`] = v;
  }
  return out;
}
