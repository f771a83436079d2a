/* eslint-disable @typescript-eslint/no-non-null-assertion -- pixel loops index typed arrays within
   bounds set by the loop limits; `!` keeps them free of per-pixel checks. */
// Just enough H.264 bitstream reading to skip work safely: a picture whose every slice has
// nal_ref_idc = 0 is never used as a reference, so a decoder that is not asked for it can be spared
// it without changing any other picture (ffmpeg's `-skip_frame nonref` relies on the same fact).

/** Reads lengthSizeMinusOne + 1 from an avcC box (the decoder config's description). */
export function avcNalLengthSize(description: AllowSharedBufferSource | undefined): number {
  if (!description) return 4;
  const bytes = ArrayBuffer.isView(description)
    ? new Uint8Array(description.buffer, description.byteOffset, description.byteLength)
    : new Uint8Array(description);
  if (bytes.length < 5 || bytes[0] !== 1) return 4;
  return (bytes[4]! & 3) + 1;
}

/**
 * True when the access unit (length-prefixed NAL units) holds slices and none of them is a
 * reference. Unknown or malformed data counts as a reference (never skipped).
 */
export function isDisposableAvcPicture(data: Uint8Array, nalLengthSize: number): boolean {
  let pos = 0;
  let sawSlice = false;
  while (pos + nalLengthSize <= data.length) {
    let len = 0;
    for (let i = 0; i < nalLengthSize; i++) len = len * 256 + data[pos + i]!;
    pos += nalLengthSize;
    if (len === 0 || pos + len > data.length) return false;
    const header = data[pos]!;
    const type = header & 0x1f;
    if (type === 1 || type === 5) {
      if (type === 5 || (header & 0x60) !== 0) return false;
      sawSlice = true;
    } else if (type >= 2 && type <= 4) {
      return false; // data partitioning: be conservative
    }
    pos += len;
  }
  return sawSlice && pos === data.length;
}

/** True when the access unit holds an IDR slice: decoding can restart there without a flush. */
export function isAvcIdr(data: Uint8Array, nalLengthSize: number): boolean {
  let pos = 0;
  while (pos + nalLengthSize <= data.length) {
    let len = 0;
    for (let i = 0; i < nalLengthSize; i++) len = len * 256 + data[pos + i]!;
    pos += nalLengthSize;
    if (len === 0 || pos + len > data.length) return false;
    const type = data[pos]! & 0x1f;
    if (type === 5) return true;
    if (type >= 1 && type <= 4) return false;
    pos += len;
  }
  return false;
}
