/* eslint-disable @typescript-eslint/no-non-null-assertion -- pixel loops index typed arrays within
   bounds set by the loop limits; `!` keeps them free of per-pixel checks. */
// Small JPEG thumbnails of model-ready frames, for the UI (not used by the model).

export const PREVIEW_SIZE = 112;

/** Planar float frame (0..255) of `size` x `size` to a JPEG thumbnail. */
export async function framePreview(frame: Float32Array, size: number): Promise<Blob> {
  const plane = size * size;
  const rgba = new Uint8ClampedArray(4 * plane);
  for (let i = 0; i < plane; i++) {
    rgba[4 * i] = frame[i]!;
    rgba[4 * i + 1] = frame[plane + i]!;
    rgba[4 * i + 2] = frame[2 * plane + i]!;
    rgba[4 * i + 3] = 255;
  }
  const full = new OffscreenCanvas(size, size);
  full.getContext('2d')!.putImageData(new ImageData(rgba, size, size), 0, 0);
  const thumb = new OffscreenCanvas(PREVIEW_SIZE, PREVIEW_SIZE);
  const ctx = thumb.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(full, 0, 0, PREVIEW_SIZE, PREVIEW_SIZE);
  return thumb.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
}
