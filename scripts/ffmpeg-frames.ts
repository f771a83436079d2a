/**
 * ffmpeg arguments that write the frames at the given 0-based indices as raw rgb24 to stdout
 * (swscale's default path, as decord gets them), optionally scaled to size x size with bicubic.
 * Shared by the browser tests (reference pixels) and bench:video (the speed reference).
 */
export function ffmpegFrameArgs(path: string, indices: number[], scaleTo?: number): string[] {
  const select = `select=${indices.map((i) => `eq(n\\,${i})`).join('+')}`;
  const vf = scaleTo ? `${select},scale=${scaleTo}:${scaleTo}:flags=bicubic` : select;
  return [
    '-v',
    'error',
    '-i',
    path,
    '-vf',
    vf,
    '-vsync',
    '0',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-',
  ];
}
