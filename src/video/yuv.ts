/* eslint-disable @typescript-eslint/no-non-null-assertion -- pixel loops index typed arrays within
   bounds set by the loop limits; `!` keeps them free of per-pixel checks. */
// YUV 4:2:0 to RGB exactly as FFmpeg's swscale converts it when decord (the official reader) or the
// ffmpeg CLI asks for rgb24 at the source size: its unscaled yuv2rgb fast path. Chroma is taken
// nearest (one U/V sample for each 2x2 block, no interpolation); the arithmetic is 16-bit fixed
// point with truncating multiplies (x86 `pmulhw`), so results are up to ~1 level below an exact
// float conversion. Reproduced bit for bit against ffmpeg 5.1's rgb24 output (see e2e/video.spec.ts).
// The matrix follows the stream's tags like ffmpeg's scale filter ('auto'): untagged or BT.601
// material uses BT.601, BT.709-tagged material BT.709; limited range unless tagged full.

export type YuvMatrix = 'bt601' | 'bt709' | 'bt2020' | 'fcc' | 'smpte240m';

/** FFmpeg's ff_yuv2rgb_coeffs: crv, cbu, cgu, cgv in 1/65536, for limited-range chroma. */
const COEFFS: Record<YuvMatrix, [number, number, number, number]> = {
  bt709: [117489, 138438, 13975, 34925],
  bt601: [104597, 132201, 25675, 53279],
  fcc: [104448, 132798, 24759, 53109],
  smpte240m: [117579, 136230, 16907, 35559],
  bt2020: [110013, 140363, 12277, 42626],
};

/** Maps a WebCodecs/container matrix name to the coefficients ffmpeg would pick. */
export function matrixFromColorSpace(matrix: string | null | undefined): YuvMatrix {
  switch (matrix) {
    case 'bt709':
      return 'bt709';
    case 'bt2020-ncl':
    case 'bt2020-cl':
      return 'bt2020';
    case 'fcc':
      return 'fcc';
    case 'smpte240m':
      return 'smpte240m';
    default:
      // unspecified, bt470bg, smpte170m, rgb...: swscale's default table is BT.601.
      return 'bt601';
  }
}

export interface YuvTables {
  y: Int32Array;
  rv: Int32Array;
  bu: Int32Array;
  gu: Int32Array;
  gv: Int32Array;
}

/** roundToInt16 from swscale: round a 16.16 value to an int16. */
function roundToInt16(v: number): number {
  const r = Math.floor((v + 32768) / 65536);
  return Math.max(-32768, Math.min(32767, r));
}

/** Per-byte lookup tables equivalent to swscale's SIMD yuv2rgb (pmulhw = floor(a * b / 65536)). */
export function yuvTables(matrix: YuvMatrix, fullRange: boolean): YuvTables {
  let [crv, cbu, cgu, cgv] = COEFFS[matrix];
  cgu = -cgu;
  cgv = -cgv;
  let cy = 1 << 16;
  let oy = 0;
  if (!fullRange) {
    cy = Math.trunc((cy * 255) / 219);
    oy = 16 << 16;
  } else {
    crv = Math.trunc((crv * 224) / 255);
    cbu = Math.trunc((cbu * 224) / 255);
    cgu = Math.trunc((cgu * 224) / 255);
    cgv = Math.trunc((cgv * 224) / 255);
  }
  const yCoeff = roundToInt16(cy * 8192);
  const vr = roundToInt16(crv * 8192);
  const ub = roundToInt16(cbu * 8192);
  const vg = roundToInt16(cgv * 8192);
  const ug = roundToInt16(cgu * 8192);
  const yOffset = roundToInt16(oy * 8);
  const mulhi = (a: number, b: number) => Math.floor((a * b) / 65536);
  const t: YuvTables = {
    y: new Int32Array(256),
    rv: new Int32Array(256),
    bu: new Int32Array(256),
    gu: new Int32Array(256),
    gv: new Int32Array(256),
  };
  for (let i = 0; i < 256; i++) {
    t.y[i] = mulhi(i * 8 - yOffset, yCoeff);
    const c = i * 8 - 1024;
    t.rv[i] = mulhi(c, vr);
    t.bu[i] = mulhi(c, ub);
    t.gu[i] = mulhi(c, ug);
    t.gv[i] = mulhi(c, vg);
  }
  return t;
}

/** Where the three planes of a 4:2:0 frame lie in a buffer (VideoFrame.copyTo layout). */
export interface Yuv420Layout {
  format: 'I420' | 'NV12';
  width: number;
  height: number;
  /** [Y, U, V] for I420; [Y, UV] for NV12. */
  offsets: number[];
  strides: number[];
}

/**
 * Converts a 4:2:0 frame to planar RGB bytes (`out`: R plane, G plane, B plane, width * height
 * each). Saturates to 0..255 as `packuswb` does.
 */
export function yuv420ToRgbPlanar(
  src: Uint8Array,
  layout: Yuv420Layout,
  tables: YuvTables,
  out: Uint8Array,
): void {
  const { width, height, offsets, strides } = layout;
  const plane = width * height;
  const { y: ty, rv, bu, gu, gv } = tables;
  const yOff = offsets[0]!;
  const yStride = strides[0]!;
  const nv12 = layout.format === 'NV12';
  const uOff = offsets[1]!;
  const uStride = strides[1]!;
  const vOff = nv12 ? uOff + 1 : offsets[2]!;
  const vStride = nv12 ? uStride : strides[2]!;
  const cStep = nv12 ? 2 : 1;
  for (let row = 0; row < height; row++) {
    const yRow = yOff + row * yStride;
    const uRow = uOff + (row >> 1) * uStride;
    const vRow = vOff + (row >> 1) * vStride;
    const o = row * width;
    for (let x = 0; x < width; x++) {
      const cx = (x >> 1) * cStep;
      const u = src[uRow + cx]!;
      const v = src[vRow + cx]!;
      const yy = ty[src[yRow + x]!]!;
      const r = yy + rv[v]!;
      const g = yy + gu[u]! + gv[v]!;
      const b = yy + bu[u]!;
      out[o + x] = r < 0 ? 0 : r > 255 ? 255 : r;
      out[plane + o + x] = g < 0 ? 0 : g > 255 ? 255 : g;
      out[2 * plane + o + x] = b < 0 ? 0 : b > 255 ? 255 : b;
    }
  }
}
