/** Why a visual could not be prepared. The run records the error against its question and goes on. */
export type VideoErrorCode =
  | 'missing'
  | 'corrupt'
  | 'unsupported-codec'
  | 'too-few-frames'
  | 'not-a-video'
  | 'not-an-image'
  | 'no-webcodecs';

export class VideoError extends Error {
  override readonly name = 'VideoError';
  constructor(
    readonly code: VideoErrorCode,
    /** The file (clip or still) the error is about, as the caller named it. */
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** Plain-data form of a VideoError, for posting across the worker boundary. */
export interface VideoErrorData {
  code: VideoErrorCode;
  file: string;
  message: string;
}

export function isVideoErrorData(value: unknown): value is VideoErrorData {
  if (typeof value !== 'object' || value === null) return false;
  if (!('code' in value) || !('file' in value) || !('message' in value)) return false;
  const { code, file, message } = value;
  return typeof code === 'string' && typeof file === 'string' && typeof message === 'string';
}

export function videoErrorFromData(data: VideoErrorData): VideoError {
  const prefix = `${data.file}: `;
  const detail = data.message.startsWith(prefix) ? data.message.slice(prefix.length) : data.message;
  return new VideoError(data.code, data.file, detail);
}
