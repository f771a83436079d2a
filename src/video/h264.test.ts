import { describe, expect, it } from 'vitest';
import { avcNalLengthSize, isDisposableAvcPicture } from './h264';

const nal = (header: number, body = [0x88, 0x84]) => [0, 0, 0, 1 + body.length, header, ...body];

describe('isDisposableAvcPicture', () => {
  it('is true only for non-IDR slices with nal_ref_idc 0', () => {
    expect(isDisposableAvcPicture(new Uint8Array(nal(0x01)), 4)).toBe(true); // ref_idc 0, type 1
    expect(isDisposableAvcPicture(new Uint8Array(nal(0x21)), 4)).toBe(false); // ref_idc 1
    expect(isDisposableAvcPicture(new Uint8Array(nal(0x65)), 4)).toBe(false); // IDR
    // SEI then a disposable slice
    expect(isDisposableAvcPicture(new Uint8Array([...nal(0x06), ...nal(0x01)]), 4)).toBe(true);
  });
  it('keeps anything malformed or sliceless', () => {
    expect(isDisposableAvcPicture(new Uint8Array([0, 0, 0, 9, 0x01]), 4)).toBe(false);
    expect(isDisposableAvcPicture(new Uint8Array(nal(0x06)), 4)).toBe(false);
    expect(isDisposableAvcPicture(new Uint8Array([]), 4)).toBe(false);
  });
  it('reads the NAL length size from avcC', () => {
    expect(avcNalLengthSize(new Uint8Array([1, 0x64, 0, 0x1e, 0xff]))).toBe(4);
    expect(avcNalLengthSize(new Uint8Array([1, 0x64, 0, 0x1e, 0xfd]))).toBe(2);
    expect(avcNalLengthSize(undefined)).toBe(4);
  });
});
