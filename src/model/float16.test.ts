import { describe, expect, it } from 'vitest';
import {
  float16BitsToFloat32,
  hasNativeFloat16,
  float32ToFloat16Bits,
  fromFloat16Bits,
  toFloat16Bits,
} from './float16';

describe('float16 conversion', () => {
  it('encodes landmark values exactly', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest finite half
      [65520, 0x7c00], // rounds up past the largest: infinity
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // exactly half of it: ties to even (zero)
      [3 * 2 ** -25, 0x0002], // 1.5 subnormal steps: ties to even (2)
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: ties to even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway, odd below: rounds up
    ];
    for (const [x, bits] of cases) expect(toFloat16Bits(x), String(x)).toBe(bits);
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
  });

  it('round-trips every half-precision value and agrees with nearest rounding elsewhere', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = fromFloat16Bits(h);
      if (Number.isNaN(x)) continue;
      expect(toFloat16Bits(x)).toBe(h);
    }
    // Random floats: the result is the nearest representable half (ties aside, which are measure 0).
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround(rand() * 2 ** ((i % 40) - 26));
      const h = toFloat16Bits(x);
      const y = fromFloat16Bits(h);
      const below = fromFloat16Bits(h - 1 >= 0 ? h - 1 : h);
      const above = fromFloat16Bits(h + 1);
      const err = Math.abs(y - x);
      // Neighbours of the same sign are no nearer (skipping the sign boundary at 0x0000/0x8000).
      if ((h & 0x7fff) !== 0) expect(err).toBeLessThanOrEqual(Math.abs(below - x));
      if ((h & 0x7fff) !== 0x7bff) expect(err).toBeLessThanOrEqual(Math.abs(above - x));
    }
  });

  it('agrees with the runtime Float16Array where it exists', () => {
    const native = (globalThis as { Float16Array?: { from(v: number[]): ArrayLike<number> } })
      .Float16Array;
    const values = [0.1, -3.14159, 1e-6, 70000, 123.456, -0.0001];
    const bits = float32ToFloat16Bits(values);
    expect(Array.from(float16BitsToFloat32(bits))).toEqual(
      values.map((v) => fromFloat16Bits(toFloat16Bits(v))),
    );
    if (native) {
      const n = native.from(values);
      expect(Array.from(n)).toEqual(Array.from(float16BitsToFloat32(bits)));
    }
    // The bit patterns used without Float16Array, never the truncated integers Uint16Array.from
    // gives (what transformers.js's .to('float16') falls back to).
    expect(hasNativeFloat16()).toBe(native !== undefined);
    expect(Array.from(float32ToFloat16Bits([0.5, 1.5, -2.25]))).toEqual([0x3800, 0x3e00, 0xc080]);
  });
});
