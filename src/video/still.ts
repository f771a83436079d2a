/* eslint-disable @typescript-eslint/no-non-null-assertion -- pixel loops index typed arrays within
   bounds set by the loop limits; `!` keeps them free of per-pixel checks. */
// Still images (the question's current observation), decoded in the worker. Pillow's `to_rgb` in
// the official code composites an RGBA image on white and otherwise drops any transparency
// (`convert("RGB")`); the browser decodes to RGBA, so the file's own colour type decides.
import { VideoError } from './errors';

export interface RgbImage {
  /** Planar RGB bytes (R plane, G plane, B plane). */
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** True when Pillow would open the file as mode RGBA (PNG colour type 6), i.e. composite on white. */
async function pillowWouldCompositeOnWhite(blob: Blob): Promise<boolean> {
  const head = new Uint8Array(await blob.slice(0, 26).arrayBuffer());
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => head[i] === b);
  return png && head.length >= 26 && head[25] === 6;
}

/**
 * The file without its EXIF metadata (JPEG APP1 "Exif", PNG eXIf): Chromium applies an EXIF
 * orientation even when asked not to, and Pillow's Image.open never does. Other bytes unchanged.
 */
export function withoutExif(bytes: Uint8Array): Uint8Array {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const keep: Uint8Array[] = [bytes.subarray(0, 2)];
    let pos = 2;
    while (pos + 4 <= bytes.length && bytes[pos] === 0xff) {
      const marker = bytes[pos + 1]!;
      if (marker === 0xff) {
        pos++; // fill byte
        continue;
      }
      if (marker === 0xda || marker === 0xd9) break; // start of scan: the rest is image data
      const len = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
      const seg = bytes.subarray(pos, pos + 2 + len);
      const exif = marker === 0xe1 && String.fromCharCode(...seg.subarray(4, 10)) === 'Exif\0\0';
      if (!exif) keep.push(seg);
      pos += 2 + len;
      if (len < 2) return bytes; // malformed: leave the file to the decoder as it is
    }
    if (keep.length === 1 || pos >= bytes.length) return bytes;
    keep.push(bytes.subarray(pos));
    return concat(keep);
  }
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b);
  if (png) {
    const keep: Uint8Array[] = [bytes.subarray(0, 8)];
    let pos = 8;
    let dropped = false;
    while (pos + 12 <= bytes.length) {
      const len =
        ((bytes[pos]! << 24) |
          (bytes[pos + 1]! << 16) |
          (bytes[pos + 2]! << 8) |
          bytes[pos + 3]!) >>>
        0;
      const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
      const chunk = bytes.subarray(pos, pos + 12 + len);
      if (type === 'eXIf') dropped = true;
      else keep.push(chunk);
      pos += 12 + len;
      if (type === 'IEND') break;
    }
    return dropped ? concat(keep) : bytes;
  }
  return bytes;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** RGBA (interleaved) to planar RGB. */
export function rgbaToPlanarRgb(
  rgba: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
): Uint8Array {
  const plane = width * height;
  const out = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = rgba[4 * i]!;
    out[plane + i] = rgba[4 * i + 1]!;
    out[2 * plane + i] = rgba[4 * i + 2]!;
  }
  return out;
}

/**
 * Decodes an image file to RGB. EXIF orientation is ignored (the EXIF block is dropped before
 * decoding) and no colour management is applied, as Pillow's `Image.open` does neither. Alpha compositing goes through the canvas (premultiplied),
 * which can differ from Pillow's integer blend by 1 level on semi-transparent pixels.
 */
export async function decodeImage(blob: Blob, name: string): Promise<RgbImage> {
  if (blob.size === 0) throw new VideoError('not-an-image', name, 'the image file is empty');
  let bitmap: ImageBitmap;
  try {
    const bytes = withoutExif(new Uint8Array(await blob.arrayBuffer()));
    bitmap = await createImageBitmap(
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type: blob.type }),
      {
        premultiplyAlpha: 'none',
        colorSpaceConversion: 'none',
        imageOrientation: 'none',
      },
    );
  } catch (e) {
    throw new VideoError('not-an-image', name, 'the browser cannot decode this file as an image', {
      cause: e,
    });
  }
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new VideoError('not-an-image', name, 'no 2D canvas in this worker');
    if (await pillowWouldCompositeOnWhite(blob)) {
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, 0, width, height);
    }
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, width, height).data;
    return { rgb: rgbaToPlanarRgb(data, width, height), width, height };
  } finally {
    bitmap.close();
  }
}
