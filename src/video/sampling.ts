// Frame sampling exactly as the official qwen-vl-utils does it (protocol.md section 2):
// 2 frames per second, at least 4, at most 16 (and at most N), rounded down to an even count, then
// round(torch.linspace(0, N - 1, n)) in float32 with round-half-to-even.

export const SAMPLE_FPS = 2;
export const MIN_FRAMES = 4;
export const MAX_FRAMES = 16;
const FRAME_FACTOR = 2;

/** Python's floor_by_factor for positive numbers. */
function floorBy(value: number, factor: number): number {
  return Math.floor(value / factor) * factor;
}

/**
 * Number of frames the official pipeline samples from a clip of `frameCount` frames at `fps`.
 * Returns a number below 2 when the clip is too short (the caller reports 'too-few-frames').
 * Arithmetic is in float64 like Python's: N / fps * 2, compared, floored to an even number.
 */
export function sampledFrameCount(frameCount: number, fps: number): number {
  const minFrames = Math.ceil(MIN_FRAMES / FRAME_FACTOR) * FRAME_FACTOR;
  const maxFrames = floorBy(Math.min(MAX_FRAMES, frameCount), FRAME_FACTOR);
  let n = (frameCount / fps) * SAMPLE_FPS;
  n = Math.min(Math.min(Math.max(n, minFrames), maxFrames), frameCount);
  return floorBy(n, FRAME_FACTOR);
}

/** Round half to even, as torch.round and numpy.round do. */
export function roundHalfToEven(x: number): number {
  const r = Math.round(x); // rounds half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torch.linspace(start, end, steps) in float32 on CPU: the first half counts up from start, the
 * second half down from end, every product and sum rounded to float32. (Its vectorised form can
 * differ in the last bit; sampled indices cannot notice, since with an even count the exact values
 * k * (N - 1) / (n - 1) are never within float32 error of a .5 tie.)
 */
export function linspaceFloat32(start: number, end: number, steps: number): number[] {
  const f = Math.fround;
  if (steps === 1) return [f(start)];
  const s = f(start);
  const e = f(end);
  const step = f(f(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    out.push(i < half ? f(s + f(step * i)) : f(e - f(step * (steps - i - 1))));
  }
  return out;
}

/**
 * The official sampled frame indices (presentation order, 0-based) for a clip of `frameCount`
 * frames at `fps` frames per second. Empty when the clip has fewer than 2 frames.
 */
export function sampleFrameIndices(frameCount: number, fps: number): number[] {
  if (!Number.isInteger(frameCount) || frameCount < 0) {
    throw new RangeError(`frameCount must be a non-negative integer, got ${frameCount}`);
  }
  if (!(fps > 0) || !Number.isFinite(fps)) throw new RangeError(`fps must be positive, got ${fps}`);
  const n = sampledFrameCount(frameCount, fps);
  if (n < FRAME_FACTOR || n > frameCount) return [];
  return linspaceFloat32(0, frameCount - 1, n).map(roundHalfToEven);
}
