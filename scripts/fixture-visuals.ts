// The visuals of a committed reference fixture (e2e/fixtures/reference) made in Node exactly as the
// browser model harness makes them (e2e/harness/model.ts): the committed PNGs decoded to RGB by
// ffmpeg, resized by the app's own src/video resizers (the clip's frames as float, not rounded, as
// the fixtures), patchified by src/model/pixels. Used by scripts/fast-fixtures.ts and
// npm run bench:cpu, which feed them to onnxruntime-node.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { patchify, type Patches } from '../src/model/pixels';
import { resizePillowBicubic, resizeTorchBicubicAA } from '../src/video/resize';

export const FIXTURES = resolve(import.meta.dirname, '../e2e/fixtures/reference');
const SIDE = 252;

export interface FixtureFrames {
  case_id: string;
  clip: string | null;
  indices?: number[];
  still_252_png: string;
}

/** RGB bytes of a PNG, planar, as stored (ffmpeg: no colour management, as the harness decodes). */
export function pngRgb(path: string): { rgb: Uint8Array; width: number; height: number } {
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

/** The clip's slices (null for a still-only case) and the still, as the harness patchifies them. */
export function fixtureVisuals(fx: FixtureFrames): { clip: Patches | null; still: Patches } {
  let clip: Patches | null = null;
  if (fx.clip) {
    const frames = (fx.indices ?? []).map((ix, i) => {
      const img = pngRgb(
        `${FIXTURES}/${fx.case_id}/frame_${String(i).padStart(2, '0')}_src${String(ix).padStart(4, '0')}.png`,
      );
      const out = new Float32Array(3 * SIDE * SIDE);
      resizeTorchBicubicAA(img.rgb, img.width, img.height, SIDE, SIDE, out, false);
      return out;
    });
    clip = patchify(frames, SIDE, SIDE);
  }
  const s = pngRgb(`${FIXTURES}/${fx.still_252_png}`);
  const still = Float32Array.from(resizePillowBicubic(s.rgb, s.width, s.height, SIDE, SIDE));
  return { clip, still: patchify([still], SIDE, SIDE) };
}
