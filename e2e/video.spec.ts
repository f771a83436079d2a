import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import sampling from '../src/video/fixtures/torch-sampling.json' with { type: 'json' };
import type { PrepareArgs, PrepareSummary, VideoHarness } from './harness/video';

// The video stage in real Chromium (WebCodecs in the real worker) on the 12 real EgoPlan-Bench2
// clips, against ffmpeg (the library decord, the official reader, wraps) run here.

const CLIPS_DIR = resolve(import.meta.dirname, '../../shared/seedbench/egoplan-bench2-examples');
const clips = readdirSync(CLIPS_DIR)
  .filter((f) => f.endsWith('.mp4'))
  .sort();

/** Bytes the page may fetch, by path under /test-files/. */
const served = new Map<string, Buffer>();

function probe(path: string) {
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_frames',
    '-show_entries',
    'stream=width,height,avg_frame_rate,nb_read_frames',
    '-of',
    'json',
    path,
  ]).toString();
  const s = JSON.parse(out).streams[0] as {
    width: number;
    height: number;
    avg_frame_rate: string;
    nb_read_frames: string;
  };
  const [num, den] = s.avg_frame_rate.split('/').map(Number) as [number, number];
  return { width: s.width, height: s.height, fps: num / den, frames: Number(s.nb_read_frames) };
}

/** The indices real torch computed for (N, fps) (src/video/fixtures/torch-sampling.json). */
function torchIndices(n: number, fps: number): number[] {
  const row = sampling.rows.find((r) => r[0] === n && r[1] === fps);
  if (!row) throw new Error(`no torch reference row for N=${n} fps=${fps}`);
  return row.slice(3);
}

/** ffmpeg's rgb24 frames (swscale default path, as decord gets them) at the given indices. */
function ffmpegFrames(path: string, indices: number[]): Buffer {
  const select = `select=${indices.map((i) => `eq(n\\,${i})`).join('+')}`;
  return execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      path,
      '-vf',
      select,
      '-vsync',
      '0',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { maxBuffer: 256 << 20 },
  );
}

async function openHarness(page: Page) {
  await page.route('**/test-files/**', (route) => {
    const key = decodeURIComponent(
      new URL(route.request().url()).pathname.replace(/^.*\/test-files\//, ''),
    );
    const body = served.get(key);
    return body
      ? route.fulfill({ body, contentType: 'application/octet-stream' })
      : route.fulfill({ status: 404 });
  });
  await page.goto('/e2e/harness/video.html');
  await page.waitForFunction(() => 'videoHarness' in window);
}

/** Calls a function of the page's harness (e2e/harness/video.ts). */
function harness<K extends keyof VideoHarness>(
  page: Page,
  fn: K,
  ...args: Parameters<VideoHarness[K]>
) {
  return page.evaluate(
    ([f, a]) => {
      const h = (
        window as unknown as { videoHarness: Record<string, (...x: unknown[]) => unknown> }
      ).videoHarness;
      return h[f as string]!(...(a as unknown[]));
    },
    [fn, args] as const,
  ) as Promise<Awaited<ReturnType<VideoHarness[K]>>>;
}

async function prepareOk(page: Page, args: PrepareArgs): Promise<PrepareSummary> {
  const r = await harness(page, 'prepare', args);
  if (!r.ok) throw new Error(`prepare failed: ${JSON.stringify(r.error)}`);
  return r;
}

test.describe('real clips', () => {
  for (const name of clips) {
    test(`${name}: official indices, pixels equal ffmpeg + torchvision/Pillow resize`, async ({
      page,
    }) => {
      const path = join(CLIPS_DIR, name);
      const info = probe(path);
      const expected = torchIndices(info.frames, info.fps);
      served.set(`clip/${name}`, readFileSync(path));
      served.set(`ref/${name}.rgb`, ffmpegFrames(path, expected));
      await openHarness(page);
      const r = await prepareOk(page, {
        clipUrl: `/test-files/clip/${name}`,
        clipName: name,
        options: { previews: true },
      });
      expect(r.frameCount).toBe(info.frames);
      expect(r.fps).toBe(info.fps);
      expect(r.indices).toEqual(expected);
      expect([r.width, r.height]).toEqual([info.width, info.height]);
      expect(r.codec).toMatch(/^avc1\./);
      expect(r.stillFrom).toBe('last-frame');
      expect(r.frameLengths).toEqual(new Array(expected.length + 1).fill(3 * 252 * 252));
      expect(r.previews).toHaveLength(expected.length + 1);
      // Official clip frames are integers (torchvision rounds the uint8 video it resizes).
      for (const s of r.stats) expect(s.integers).toBe(true);

      const cmp = await harness(
        page,
        'compareWithReference',
        `/test-files/ref/${name}.rgb`,
        info.width,
        info.height,
      );
      expect(cmp.bytes).toBe(cmp.expectedBytes);
      // Chromium decodes H.264 bit-exactly (the standard requires it) and the YUV->RGB step
      // reproduces swscale's integer arithmetic, so the frames are expected to be identical:
      // MAE must be 0 and so must the max error. Any nonzero value is a real difference to explain.
      for (const [k, d] of cmp.frames.entries()) {
        expect(d.mae, `frame ${expected[k]}`).toBe(0);
        expect(d.max, `frame ${expected[k]}`).toBe(0);
      }
      expect(cmp.still?.max).toBe(0);
      console.log(
        `${name}: N=${r.frameCount} fps=${r.fps} n=${r.indices?.length} decoded=${r.decodedFrames} skipped=${r.skippedFrames} ` +
          `timings=${JSON.stringify(r.timings, (_, v) => (typeof v === 'number' ? Math.round(v) : v))}`,
      );
    });
  }
});
