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
 * Decodes an image file to RGB. EXIF orientation is ignored and no colour management is applied,
 * as Pillow's `Image.open` does neither. Alpha compositing goes through the canvas (premultiplied),
 * which can differ from Pillow's integer blend by 1 level on semi-transparent pixels.
 */
export async function decodeImage(blob: Blob, name: string): Promise<RgbImage> {
  if (blob.size === 0) throw new VideoError('not-an-image', name, 'the image file is empty');
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'none',
      imageOrientation: 'none',
    });
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
