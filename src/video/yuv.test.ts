import { describe, expect, it } from 'vitest';
import reference from './fixtures/ffmpeg-yuv2rgb.json';
import { matrixFromColorSpace, yuv420ToRgbPlanar, yuvTables, type YuvMatrix } from './yuv';

/** Converts the fixture's triples as one 2x2 block each (a 2K x 2 I420 image). */
function convert(matrix: YuvMatrix, fullRange: boolean): number[][] {
  const k = reference.yuv.length;
  const w = 2 * k;
  const buf = new Uint8Array(w * 2 + 2 * k);
  reference.yuv.forEach(([y, u, v], i) => {
    buf[2 * i] = buf[2 * i + 1] = buf[w + 2 * i] = buf[w + 2 * i + 1] = y!;
    buf[2 * w + i] = u!;
    buf[2 * w + k + i] = v!;
  });
  const out = new Uint8Array(3 * w * 2);
  yuv420ToRgbPlanar(
    buf,
    { format: 'I420', width: w, height: 2, offsets: [0, 2 * w, 2 * w + k], strides: [w, k, k] },
    yuvTables(matrix, fullRange),
    out,
  );
  return reference.yuv.map((_, i) => [out[2 * i]!, out[2 * w + 2 * i]!, out[4 * w + 2 * i]!]);
}

describe('yuv420ToRgbPlanar equals ffmpeg swscale rgb24 output exactly', () => {
  // Exact equality: the arithmetic is integer and was derived from swscale's fixed-point code.
  it.each([
    ['bt601', 'bt601', false],
    ['bt709', 'bt709', false],
    ['bt601full', 'bt601', true],
    ['bt709full', 'bt709', true],
  ] as const)('%s', (key, matrix, full) => {
    expect(convert(matrix, full)).toEqual(reference.rgb[key]);
  });

  it('reads NV12 (interleaved chroma) the same as I420', () => {
    const w = 4;
    const i420 = new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80, 100, 200, 150, 50]);
    const nv12 = new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80, 100, 150, 200, 50]);
    const t = yuvTables('bt601', false);
    const a = new Uint8Array(24);
    const b = new Uint8Array(24);
    yuv420ToRgbPlanar(
      i420,
      { format: 'I420', width: w, height: 2, offsets: [0, 8, 10], strides: [4, 2, 2] },
      t,
      a,
    );
    yuv420ToRgbPlanar(
      nv12,
      { format: 'NV12', width: w, height: 2, offsets: [0, 8], strides: [4, 4] },
      t,
      b,
    );
    expect([...b]).toEqual([...a]);
  });
});

describe('matrixFromColorSpace', () => {
  it('uses BT.601 for untagged and SD tags, BT.709 only when tagged', () => {
    expect(matrixFromColorSpace(undefined)).toBe('bt601');
    expect(matrixFromColorSpace(null)).toBe('bt601');
    expect(matrixFromColorSpace('smpte170m')).toBe('bt601');
    expect(matrixFromColorSpace('bt470bg')).toBe('bt601');
    expect(matrixFromColorSpace('bt709')).toBe('bt709');
    expect(matrixFromColorSpace('bt2020-ncl')).toBe('bt2020');
  });
});
