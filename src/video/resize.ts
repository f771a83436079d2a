/* eslint-disable @typescript-eslint/no-non-null-assertion -- pixel loops index typed arrays within
   bounds set by the loop limits; `!` keeps them free of per-pixel checks. */
// Two bicubic resizers, each written to give the same numbers as the library the official pipeline
// uses (protocol.md section 2). Both are separable: a horizontal pass into a temporary image, then
// a vertical pass. Both use Keys' cubic with a = -0.5 and widen the kernel by the downscale
// factor (antialiasing):
// - clip frames: torchvision `resize(uint8 video, BICUBIC, antialias=True)`, which runs
//   torch's `_upsample_bicubic2d_aa` on float32 and then clamps and rounds back to uint8
//   (checked on torch 2.11 / torchvision 0.26: see resize.test.ts). Arithmetic here is float32
//   step by step (Math.fround), weights as torch computes them (bit-identical, checked), sums
//   with fused multiply-adds: bit-exact for upscaling; for downscaling within 4 float32 ulps
//   (6.1e-5 at 256), a difference that also exists between torch's own CPU builds (its DEFAULT
//   and AVX2 kernels disagree in the last bit on ~70% of values). After the official rounding to
//   integers only values within that distance of a .5 tie can differ, by 1.
// - stills: Pillow's `Image.resize` (default BICUBIC) on 8-bit RGB: double-precision weights
//   turned into 22-bit fixed point, integer accumulation, rounded and clipped to uint8 after
//   each pass.
// Images are planar: three planes (R, G, B) of width * height, row-major.

const f = Math.fround;

export interface Axis {
  /** First input index used by each output index. */
  starts: Int32Array;
  /** Number of input indices used by each output index. */
  sizes: Int32Array;
  /** `ksize` weights per output index. */
  weights: Float32Array | Int32Array;
  ksize: number;
}

/**
 * torch's cubic_convolution1/2 with A = -0.5 (the antialias path), in float32 with the fused
 * multiply-adds the compiler makes of them in torch's CPU build (matched bit for bit on upscaling).
 * `fma(a, b, c)` = Math.fround(a * b + c): the product of two float32 numbers is exact in float64.
 */
function torchCubic(x: number): number {
  x = f(Math.abs(x));
  if (x < 1) return f(f(f(1.5 * x - 2.5) * x) * x + 1);
  if (x < 2) return f(f(f(-0.5 * x + 2.5) * x - 4) * x + 2);
  return 0;
}

/** Weights of torch's `_compute_indices_min_size_weights_aa` for float32 input. */
export function torchAxis(inSize: number, outSize: number): Axis {
  const scale = f(inSize / outSize);
  const support = scale >= 1 ? f(2 * scale) : 2;
  const ksize = Math.ceil(support) * 2 + 1;
  const invscale = scale >= 1 ? f(1 / scale) : 1;
  const starts = new Int32Array(outSize);
  const sizes = new Int32Array(outSize);
  const weights = new Float32Array(outSize * ksize);
  for (let i = 0; i < outSize; i++) {
    const center = f(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(f(center - support) + 0.5), 0);
    let xsize = Math.min(Math.trunc(f(center + support) + 0.5), inSize) - xmin;
    xsize = Math.min(Math.max(xsize, 0), ksize);
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = torchCubic((f(f(j + xmin) - center) + 0.5) * invscale);
      weights[i * ksize + j] = w;
      total = f(total + w);
    }
    if (total !== 0) {
      for (let j = 0; j < xsize; j++) weights[i * ksize + j] = f(weights[i * ksize + j]! / total);
    }
    starts[i] = xmin;
    sizes[i] = xsize;
  }
  return { starts, sizes, weights, ksize };
}

/** Pillow's bicubic_filter (a = -0.5), in double. */
function pillowCubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

export const PILLOW_PRECISION_BITS = 32 - 8 - 2;

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc (whole image, no box). */
export function pillowAxis(inSize: number, outSize: number): Axis {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const starts = new Int32Array(outSize);
  const sizes = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const one = 2 ** PILLOW_PRECISION_BITS;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = pillowCubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax ? (ww !== 0 ? k[x]! / ww : k[x]!) : 0;
      weights[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * one) : Math.trunc(0.5 + v * one);
    }
    starts[xx] = xmin;
    sizes[xx] = xmax;
  }
  return { starts, sizes, weights, ksize };
}

/**
 * torchvision bicubic + antialias on one uint8 image given as float32 (what torchvision does to a
 * uint8 tensor). `src`: planar RGB bytes; `out`: planar float32, `3 * outH * outW` values.
 * `roundToUint8` then clamps to 0..255 and rounds half to even, as torchvision does for uint8
 * input (the official clip path); without it the raw float32 interpolation is returned.
 * `fround(acc + v * w)` (exact product, one rounding) is the fused multiply-add of torch's kernels;
 * the vertical pass keeps its sums in the Float32Array output, where a store is that rounding.
 */
export function resizeTorchBicubicAA(
  src: Uint8Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
  out: Float32Array,
  roundToUint8: boolean,
): void {
  const oPlane = outW * outH;
  // Horizontal pass (skipped by torch when the width does not change).
  let tmp: Float32Array;
  if (outW !== width) {
    tmp = scratch(3 * height * outW);
    horizontalPass(src, width, 3 * height, outW, tmp, axisCached(torchAxis, width, outW));
  } else {
    tmp = Float32Array.from(src);
  }
  // Vertical pass, one output row at a time: the same per-pixel order of operations.
  if (outH !== height) {
    const { starts, sizes, weights, ksize } = axisCached(torchAxis, height, outH);
    for (let c = 0; c < 3; c++) {
      const base = c * height * outW;
      for (let y = 0; y < outH; y++) {
        const s0 = base + starts[y]! * outW;
        const n = sizes[y]!;
        const wo = y * ksize;
        const orow = c * oPlane + y * outW;
        const acc = out.subarray(orow, orow + outW);
        let w = weights[wo]!;
        for (let x = 0; x < outW; x++) acc[x] = tmp[s0 + x]! * w;
        for (let j = 1; j < n; j++) {
          w = weights[wo + j]!;
          const sj = s0 + j * outW;
          for (let x = 0; x < outW; x++) acc[x] = acc[x]! + tmp[sj + x]! * w;
        }
      }
    }
  } else {
    out.set(tmp.subarray(0, 3 * oPlane));
  }
  if (roundToUint8) {
    for (let i = 0; i < 3 * oPlane; i++) out[i] = roundByte(out[i]!);
  }
}

/**
 * torch's horizontal pass: every row, every output column, taps in order, each step a float32
 * multiply-add. Column-major with the column's weights in locals (and the usual 4 to 7 taps
 * unrolled): the same arithmetic, about 1.5x faster than row-major here.
 */
function horizontalPass(
  src: Uint8Array,
  width: number,
  rows: number,
  outW: number,
  tmp: Float32Array,
  ax: Axis,
): void {
  const { starts, sizes, weights, ksize } = ax;
  for (let x = 0; x < outW; x++) {
    const s0 = starts[x]!;
    const n = sizes[x]!;
    const wo = x * ksize;
    const w0 = weights[wo] ?? 0;
    const w1 = weights[wo + 1] ?? 0;
    const w2 = weights[wo + 2] ?? 0;
    const w3 = weights[wo + 3] ?? 0;
    const w4 = weights[wo + 4] ?? 0;
    const w5 = weights[wo + 5] ?? 0;
    const w6 = weights[wo + 6] ?? 0;
    let s = s0;
    let o = x;
    if (n === 7) {
      for (let r = 0; r < rows; r++, s += width, o += outW) {
        let a = f(src[s]! * w0);
        a = f(a + src[s + 1]! * w1);
        a = f(a + src[s + 2]! * w2);
        a = f(a + src[s + 3]! * w3);
        a = f(a + src[s + 4]! * w4);
        a = f(a + src[s + 5]! * w5);
        tmp[o] = f(a + src[s + 6]! * w6);
      }
    } else if (n === 6) {
      for (let r = 0; r < rows; r++, s += width, o += outW) {
        let a = f(src[s]! * w0);
        a = f(a + src[s + 1]! * w1);
        a = f(a + src[s + 2]! * w2);
        a = f(a + src[s + 3]! * w3);
        a = f(a + src[s + 4]! * w4);
        tmp[o] = f(a + src[s + 5]! * w5);
      }
    } else if (n === 5) {
      for (let r = 0; r < rows; r++, s += width, o += outW) {
        let a = f(src[s]! * w0);
        a = f(a + src[s + 1]! * w1);
        a = f(a + src[s + 2]! * w2);
        a = f(a + src[s + 3]! * w3);
        tmp[o] = f(a + src[s + 4]! * w4);
      }
    } else {
      for (let r = 0; r < rows; r++, s += width, o += outW) {
        let a = f(src[s]! * w0);
        for (let j = 1; j < n; j++) a = f(a + src[s + j]! * weights[wo + j]!);
        tmp[o] = a;
      }
    }
  }
}

let scratchBuf = new Float32Array(0);

/** The intermediate image, reused across calls (frames of a clip share their sizes). */
function scratch(length: number): Float32Array {
  if (scratchBuf.length < length) scratchBuf = new Float32Array(length);
  return scratchBuf.subarray(0, length);
}

const axisCache = new Map<string, Axis>();

/** Axes depend only on the sizes: a clip's frames (and most clips) share them. */
function axisCached(make: (i: number, o: number) => Axis, inSize: number, outSize: number): Axis {
  const key = `${make.name}:${inSize}:${outSize}`;
  let axis = axisCache.get(key);
  if (!axis) {
    if (axisCache.size > 64) axisCache.clear();
    axis = make(inSize, outSize);
    axisCache.set(key, axis);
  }
  return axis;
}

/** torch.round(clamp(v, 0, 255)): half to even. */
function roundByte(v: number): number {
  if (v <= 0) return 0;
  if (v >= 255) return 255;
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) === 1 ? r - 1 : r;
}

function clip8(ss: number): number {
  if (ss >= 255 * 2 ** PILLOW_PRECISION_BITS) return 255;
  if (ss <= 0) return 0;
  return Math.floor(ss / 2 ** PILLOW_PRECISION_BITS);
}

/**
 * Pillow `Image.resize((outW, outH))` (bicubic) on an 8-bit RGB image. `src` and the result are
 * planar RGB bytes.
 */
export function resizePillowBicubic(
  src: Uint8Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
): Uint8Array {
  if (outW === width && outH === height) return src.slice();
  const half = 2 ** (PILLOW_PRECISION_BITS - 1);
  const ay = axisCached(pillowAxis, height, outH);
  const ax = axisCached(pillowAxis, width, outW);
  // Pillow's horizontal pass only covers the rows the vertical pass will read.
  const needH = outW !== width;
  const needV = outH !== height;
  const yFirst = needV ? ay.starts[0]! : 0;
  const yLast = needV ? ay.starts[outH - 1]! + ay.sizes[outH - 1]! : height;
  const rows = yLast - yFirst;
  let mid: Uint8Array;
  let midW: number;
  if (needH) {
    midW = outW;
    mid = new Uint8Array(3 * rows * outW);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < rows; y++) {
        const row = c * width * height + (y + yFirst) * width;
        const orow = (c * rows + y) * outW;
        for (let x = 0; x < outW; x++) {
          const s = row + ax.starts[x]!;
          const n = ax.sizes[x]!;
          const wo = x * ax.ksize;
          let ss = half;
          for (let j = 0; j < n; j++) ss += src[s + j]! * ax.weights[wo + j]!;
          mid[orow + x] = clip8(ss);
        }
      }
    }
  } else {
    midW = width;
    mid = src.subarray(0, 3 * width * height);
  }
  if (!needV) return needH ? mid : mid.slice();
  const midRows = needH ? rows : height;
  const shift = needH ? yFirst : 0;
  const out = new Uint8Array(3 * outW * outH);
  const ss = new Float64Array(midW); // exact: the int32 sums of Pillow fit in a double
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < outH; y++) {
      const s0 = c * midRows * midW + (ay.starts[y]! - shift) * midW;
      const n = ay.sizes[y]!;
      const wo = y * ay.ksize;
      const orow = (c * outH + y) * outW;
      ss.fill(half);
      for (let j = 0; j < n; j++) {
        const w = ay.weights[wo + j]!;
        const sj = s0 + j * midW;
        for (let x = 0; x < outW; x++) ss[x] = ss[x]! + mid[sj + x]! * w;
      }
      for (let x = 0; x < outW; x++) out[orow + x] = clip8(ss[x]!);
    }
  }
  return out;
}
