/* eslint-disable @typescript-eslint/no-non-null-assertion -- pixel loops index typed arrays within
   bounds set by the loop limits; `!` keeps them free of per-pixel checks. */
// Two bicubic resizers, each written to give the same numbers as the library the official pipeline
// uses (protocol.md section 2). Both are separable: a horizontal pass into a temporary image, then
// a vertical pass. Both use Keys' cubic with a = -0.5 and widen the kernel by the downscale
// factor (antialiasing):
// - clip frames: torchvision `resize(uint8 video, BICUBIC, antialias=True)`, which runs
//   torch's `_upsample_bicubic2d_aa` on float32 and then clamps and rounds back to uint8
//   (checked on torch 2.11 / torchvision 0.26: see resize.test.ts). Arithmetic here is float32
//   step by step (Math.fround), weights as torch computes them, multiply-adds fused as in torch's
//   compiled kernels.
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
  const plane = width * height;
  const oPlane = outW * outH;
  // Horizontal pass (skipped by torch when the width does not change).
  let tmp: Float32Array;
  if (outW !== width) {
    const ax = torchAxis(width, outW);
    tmp = new Float32Array(3 * height * outW);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < height; y++) {
        const row = c * plane + y * width;
        const orow = (c * height + y) * outW;
        for (let x = 0; x < outW; x++) {
          const s = ax.starts[x]! + row;
          const n = ax.sizes[x]!;
          const wo = x * ax.ksize;
          let acc = f(src[s]! * ax.weights[wo]!);
          for (let j = 1; j < n; j++) acc = f(acc + src[s + j]! * ax.weights[wo + j]!);
          tmp[orow + x] = acc;
        }
      }
    }
  } else {
    tmp = Float32Array.from(src);
  }
  // Vertical pass.
  if (outH !== height) {
    const ay = torchAxis(height, outH);
    for (let c = 0; c < 3; c++) {
      const base = c * height * outW;
      for (let y = 0; y < outH; y++) {
        const s0 = base + ay.starts[y]! * outW;
        const n = ay.sizes[y]!;
        const wo = y * ay.ksize;
        const orow = c * oPlane + y * outW;
        for (let x = 0; x < outW; x++) {
          let acc = f(tmp[s0 + x]! * ay.weights[wo]!);
          for (let j = 1; j < n; j++) acc = f(acc + tmp[s0 + j * outW + x]! * ay.weights[wo + j]!);
          out[orow + x] = acc;
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
  const ay = pillowAxis(height, outH);
  const ax = pillowAxis(width, outW);
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
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < outH; y++) {
      const s0 = c * midRows * midW + (ay.starts[y]! - shift) * midW;
      const n = ay.sizes[y]!;
      const wo = y * ay.ksize;
      const orow = (c * outH + y) * outW;
      for (let x = 0; x < outW; x++) {
        let ss = half;
        for (let j = 0; j < n; j++) ss += mid[s0 + j * midW + x]! * ay.weights[wo + j]!;
        out[orow + x] = clip8(ss);
      }
    }
  }
  return out;
}
