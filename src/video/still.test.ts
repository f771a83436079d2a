import { describe, expect, it } from 'vitest';
import { rgbaToPlanarRgb, withoutExif } from './still';

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

describe('withoutExif', () => {
  it('drops the JPEG APP1 Exif segment and keeps everything else', () => {
    const app0 = [0xff, 0xe0, 0, 6, ...ascii('JFIF')];
    const exif = [0xff, 0xe1, 0, 10, ...ascii('Exif\0\0'), 1, 2];
    const xmp = [0xff, 0xe1, 0, 6, ...ascii('http')];
    const scan = [0xff, 0xda, 0, 2, 9, 9, 9, 0xff, 0xd9];
    const jpg = new Uint8Array([0xff, 0xd8, ...app0, ...exif, ...xmp, ...scan]);
    expect([...withoutExif(jpg)]).toEqual([0xff, 0xd8, ...app0, ...xmp, ...scan]);
  });
  it('drops a PNG eXIf chunk', () => {
    const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    const chunk = (type: string, data: number[]) => [
      0,
      0,
      0,
      data.length,
      ...ascii(type),
      ...data,
      1,
      2,
      3,
      4,
    ];
    const png = new Uint8Array([
      ...sig,
      ...chunk('IHDR', [1, 2]),
      ...chunk('eXIf', [7]),
      ...chunk('IEND', []),
    ]);
    expect([...withoutExif(png)]).toEqual([...sig, ...chunk('IHDR', [1, 2]), ...chunk('IEND', [])]);
  });
  it('returns other files untouched', () => {
    const b = new Uint8Array([1, 2, 3]);
    expect(withoutExif(b)).toBe(b);
  });
});

describe('rgbaToPlanarRgb', () => {
  it('splits channels and drops alpha', () => {
    const out = rgbaToPlanarRgb(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 2, 1);
    expect([...out]).toEqual([1, 5, 2, 6, 3, 7]);
  });
});
