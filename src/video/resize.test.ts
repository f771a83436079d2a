import { describe, expect, it } from 'vitest';
import reference from './fixtures/resize-reference.json';
import { pillowAxis, resizePillowBicubic, resizeTorchBicubicAA, torchAxis } from './resize';

/** The synthetic test image of the fixture script: noise, a wrapping gradient, an 8x8 checker. */
function synth(h: number, w: number, seed: number): Uint8Array {
  const out = new Uint8Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let hh =
          (Math.imul(x, 73856093) ^
            Math.imul(y, 19349663) ^
            Math.imul(c, 83492791) ^
            Math.imul(seed, 2654435761 | 0)) >>>
          0;
        hh = (hh ^ (hh >>> 13)) >>> 0;
        hh = Math.imul(hh, 0x5bd1e995) >>> 0;
        hh = (hh ^ (hh >>> 15)) >>> 0;
        const region = Math.floor((x * 3) / w);
        out[c * h * w + y * w + x] =
          region === 0
            ? hh & 255
            : region === 1
              ? (x * 5 + y * 3 + c * 60) & 255
              : ((x >> 3) + (y >> 3) + c) & 1
                ? 235
                : 16;
      }
    }
  }
  return out;
}

function fnv1a(bytes: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}

/**
 * An independent, direct statement of antialiased bicubic resampling (Keys a = -0.5, kernel
 * widened by the downscale factor, weights normalised per output pixel), in float64 and 2D.
 */
function directResize(src: Uint8Array, w: number, h: number, ow: number, oh: number): Float64Array {
  const keys = (t: number) => {
    t = Math.abs(t);
    return t < 1
      ? 1.5 * t ** 3 - 2.5 * t ** 2 + 1
      : t < 2
        ? -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2
        : 0;
  };
  const taps = (inS: number, outS: number, i: number) => {
    const scale = inS / outS;
    const stretch = Math.max(scale, 1);
    const center = (i + 0.5) * scale;
    const list: [number, number][] = [];
    for (
      let j = Math.max(0, Math.floor(center - 2 * stretch) - 1);
      j < Math.min(inS, Math.ceil(center + 2 * stretch) + 1);
      j++
    ) {
      const wgt = keys((j + 0.5 - center) / stretch);
      if (wgt !== 0) list.push([j, wgt]);
    }
    const total = list.reduce((s, [, v]) => s + v, 0);
    return list.map(([j, v]) => [j, v / total] as [number, number]);
  };
  const out = new Float64Array(3 * ow * oh);
  for (let y = 0; y < oh; y++) {
    const ty = taps(h, oh, y);
    for (let x = 0; x < ow; x++) {
      const tx = taps(w, ow, x);
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (const [yy, wy] of ty)
          for (const [xx, wx] of tx) s += wy * wx * src[c * w * h + yy * w + xx]!;
        out[c * ow * oh + y * ow + x] = s;
      }
    }
  }
  return out;
}

describe('torchvision bicubic + antialias', () => {
  it('agrees with a direct float64 statement of the formula (within float32 rounding)', () => {
    for (const [h, w, oh, ow] of [
      [36, 48, 28, 28],
      [20, 30, 28, 28],
      [60, 40, 14, 42],
    ] as const) {
      const img = synth(h, w, 9);
      const out = new Float32Array(3 * oh * ow);
      resizeTorchBicubicAA(img, w, h, ow, oh, out, false);
      const ref = directResize(img, w, h, ow, oh);
      let max = 0;
      for (let i = 0; i < out.length; i++) max = Math.max(max, Math.abs(out[i]! - ref[i]!));
      // float32 weights (relative error ~6e-8 each, renormalised) and float32 sums of up to 9
      // terms on values up to ~280: bounded by roughly 9 * 280 * 2 * 6e-8 = 3e-4.
      expect(max).toBeLessThan(5e-4);
    }
  });

  it('weights sum to 1 and stay within the widened support', () => {
    const ax = torchAxis(384, 252);
    for (let i = 0; i < 252; i++) {
      let s = 0;
      for (let j = 0; j < ax.sizes[i]!; j++) s += ax.weights[i * ax.ksize + j]!;
      expect(s).toBeCloseTo(1, 6);
      expect(ax.sizes[i]).toBeLessThanOrEqual(ax.ksize);
    }
  });

  describe.each(reference.cases)('against torch: $h x $w -> $oh x $ow', (c) => {
    const img = synth(c.h, c.w, c.seed);
    const n = 3 * c.oh * c.ow;
    const positions = Array.from({ length: 1024 }, (_, k) => (k * 2654435761) % n);

    it('is the fixture input', () => {
      expect(img.reduce((s, v) => s + v, 0)).toBe(c.input_sum);
    });

    it('float output matches torch within 1e-4', () => {
      const out = new Float32Array(n);
      resizeTorchBicubicAA(img, c.w, c.h, c.ow, c.oh, out, false);
      // Upscaling is bit-exact; downscaling differs from torch's compiled kernels by at most
      // 4 float32 ulps at 256 (6.1e-5): a last-bit difference in how the widened-kernel weights
      // are evaluated, invisible after rounding to integers except at exact .5 ties.
      const want = 'torchFloatAll' in c ? (c.torchFloatAll as number[]) : c.torchFloat;
      const at = 'torchFloatAll' in c ? want.map((_, i) => i) : positions;
      let max = 0;
      at.forEach((p, k) => (max = Math.max(max, Math.abs(out[p]! - Math.fround(want[k]!)))));
      expect(max).toBeLessThanOrEqual(1e-4);
    });

    it('uint8 path (the official clip output) matches torch; rare .5 ties may differ by 1', () => {
      const out = new Float32Array(n);
      resizeTorchBicubicAA(img, c.w, c.h, c.ow, c.oh, out, true);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += out[i]!;
      let differing = 0;
      positions.forEach((p, k) => {
        const d = Math.abs(out[p]! - c.torchUint8[k]!);
        expect(d).toBeLessThanOrEqual(1);
        if (d) differing++;
      });
      // Measured on the full images: at most 56 of 190,512 values (0.03%) differ, each by 1.
      expect(differing).toBeLessThanOrEqual(3);
      expect(Math.abs(sum - c.torchUint8Sum)).toBeLessThanOrEqual(2 + n * 0.0005);
    });
  });
});

describe('Pillow bicubic', () => {
  it.each(reference.cases)('equals Image.resize bit for bit: $h x $w -> $oh x $ow', (c) => {
    const out = resizePillowBicubic(synth(c.h, c.w, c.seed), c.w, c.h, c.ow, c.oh);
    const hwc = new Uint8Array(out.length);
    const plane = c.ow * c.oh;
    for (let i = 0; i < plane; i++)
      for (let ch = 0; ch < 3; ch++) hwc[3 * i + ch] = out[ch * plane + i]!;
    expect(fnv1a(hwc)).toBe(c.pillowFnv1a);
  });

  it('fixed-point weights sum to 2^22 within rounding', () => {
    const ax = pillowAxis(512, 252);
    for (let i = 0; i < 252; i++) {
      let s = 0;
      for (let j = 0; j < ax.ksize; j++) s += ax.weights[i * ax.ksize + j]!;
      expect(Math.abs(s - 2 ** 22)).toBeLessThanOrEqual(ax.ksize);
    }
  });

  it('returns a copy when the size does not change', () => {
    const img = synth(8, 8, 1);
    const out = resizePillowBicubic(img, 8, 8, 8, 8);
    expect(out).toEqual(img);
    expect(out).not.toBe(img);
  });
});
