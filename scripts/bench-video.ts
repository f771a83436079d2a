// npm run bench:video — time to turn each of the 12 real clips into model-ready frames in headless
// Chromium (WebCodecs in the video worker, Blob in hand to frames back on the page), beside ffmpeg
// extracting and scaling the same frames on this machine, run alternately. Prints a table, the
// peak memory of each side, and last: "video ratio vs ffmpeg: X" (browser total / ffmpeg total).
//
//   npm run bench:video [-- --repeat 3 --no-build --port 4211 --decoders 2 --only NAME-PART]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { chromiumArgs } from '../playwright.config';
import { ffmpegFrameArgs } from './ffmpeg-frames';
import type { Outcome, PrepareSummary } from '../e2e/harness/video';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const repeat = option('repeat', 3);
const port = option('port', 4211);
const decoders = option('decoders', 2);
const outDir = `dist-${port}`;
const clipsDir = resolve(root, '../shared/seedbench/egoplan-bench2-examples');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const clips = readdirSync(clipsDir)
  .filter((f) => f.endsWith('.mp4') && (!only || f.includes(only)))
  .sort();

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Summed resident memory (kB) of the processes whose command line contains `marker`. */
function rssOf(marker: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += m ? Number(m[1]) : 0;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** CPU time (ms, user + system) used so far by the processes whose command line contains `marker`, by process type. */
function cpuByType(marker: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(marker)) continue;
      const type = /--type=([\w-]+)/.exec(cmd)?.[1] ?? 'browser';
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime (fields 14 and 15), in USER_HZ = 100 ticks per second
      out.set(type, (out.get(type) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

const cpuOf = (marker: string) => [...cpuByType(marker).values()].reduce((a, b) => a + b, 0);

/** ffmpeg decoding `indices` of a clip and scaling them to 252 x 252 RGB; wall ms and max RSS (kB). */
function ffmpeg(
  path: string,
  indices: number[],
): { ms: number; cpuMs: number; rssKb: number; bytes: number } {
  const argv = ffmpegFrameArgs(path, indices, 252);
  const timed = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', '%M %U %S', 'ffmpeg', ...argv], { maxBuffer: 64 << 20 })
    : spawnSync('ffmpeg', argv, { maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${path}: ${r.stderr.toString()}`);
  const [rss, user, sys] = timed
    ? (r.stderr.toString().trim().split('\n').pop() ?? '').split(' ').map(Number)
    : [];
  return {
    ms,
    cpuMs: ((user ?? NaN) + (sys ?? NaN)) * 1000,
    rssKb: rss ?? NaN,
    bytes: r.stdout.length,
  };
}

async function waitFor(url: string, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

async function prepare(page: Page, name: string, reps: number): Promise<PrepareSummary> {
  const r = await page.evaluate(
    ([n, rp, d]) =>
      (
        window as unknown as { videoHarness: { prepare(a: unknown): Promise<Outcome> } }
      ).videoHarness.prepare({
        clipUrl: `/bench-clips/${n}`,
        clipName: n,
        repeat: rp,
        options: { decoders: d },
      }),
    [name, reps, decoders] as const,
  );
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r.error)}`);
  return r;
}

async function main() {
  if (!flag('no-build')) {
    console.log(`building into ${outDir} ...`);
    execFileSync('npx', ['vite', 'build', '--outDir', outDir, '--logLevel', 'error'], {
      cwd: root,
      stdio: 'inherit',
    });
  }
  const server = spawn(
    'npx',
    [
      'vite',
      'preview',
      '--outDir',
      outDir,
      '--port',
      String(port),
      '--strictPort',
      '--host',
      '127.0.0.1',
    ],
    { cwd: root, stdio: 'ignore', detached: true },
  );
  const base = `http://127.0.0.1:${port}`;
  const profile = mkdtempSync(join(tmpdir(), 'bench-video-chromium-'));
  try {
    await waitFor(`${base}/e2e/harness/video.html`, 60_000);
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: chromiumArgs,
      ignoreDefaultArgs: ['--enable-features'],
      headless: true,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.route('**/bench-clips/*', (route) => {
      const name = decodeURIComponent(
        new URL(route.request().url()).pathname.split('/').pop() ?? '',
      );
      return route.fulfill({ body: readFileSync(join(clipsDir, name)), contentType: 'video/mp4' });
    });
    await page.goto(`${base}/e2e/harness/video.html`);
    await page.waitForFunction(() => 'videoHarness' in window);
    // Clip bytes are read into the page once, before anything is timed (as a picked folder's files are).
    await page.evaluate(
      (urls) =>
        (
          window as unknown as { videoHarness: { preload(u: string[]): Promise<number> } }
        ).videoHarness.preload(urls),
      clips.map((c) => `/bench-clips/${c}`),
    );
    const baseline = rssOf(profile);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(profile))), 50);

    // Warm-up (worker start, JIT), not counted: the app keeps its worker across questions.
    await prepare(page, clips[0]!, 1);
    const rows: {
      name: string;
      n: number;
      frames: number;
      browser: number;
      ffmpeg: number;
      browserCpu: number;
      ffmpegCpu: number;
      detail: string;
    }[] = [];
    let ffmpegPeakKb = 0;
    const typeStart = cpuByType(profile);
    for (const name of clips) {
      const b: number[] = [];
      const f: number[] = [];
      const bc: number[] = [];
      const fc: number[] = [];
      let last: PrepareSummary | null = null;
      for (let r = 0; r < repeat; r++) {
        const c0 = cpuOf(profile);
        last = await prepare(page, name, 1);
        bc.push(cpuOf(profile) - c0);
        b.push(last.wallMs[0]!);
        const ff = ffmpeg(join(clipsDir, name), last.indices ?? []);
        if (ff.bytes !== 3 * 252 * 252 * (last.indices?.length ?? 0))
          throw new Error(`ffmpeg gave ${ff.bytes} bytes`);
        f.push(ff.ms);
        fc.push(ff.cpuMs);
        ffmpegPeakKb = Math.max(ffmpegPeakKb, ff.rssKb || 0);
      }
      const t = last!.timings;
      rows.push({
        name,
        n: last!.indices?.length ?? 0,
        frames: last!.frameCount ?? 0,
        browser: median(b),
        ffmpeg: median(f),
        browserCpu: median(bc),
        ffmpegCpu: median(fc),
        detail: `demux ${t.demuxMs.toFixed(0)} decode ${t.decodeMs.toFixed(0)} convert ${t.convertMs.toFixed(0)} resize ${t.resizeMs.toFixed(0)}; decoded ${last!.decodedFrames}, skipped ${last!.skippedFrames}`,
      });
    }
    clearInterval(sampler);
    const typeEnd = cpuByType(profile);
    await context.close();

    const pad = (s: string | number, n: number) => String(s).padStart(n);
    console.log(
      `\nmedian of ${repeat} runs each, ms (browser: ${decoders} decoder(s); ffmpeg: select + scale=252:252:flags=bicubic)`,
    );
    console.log(
      `${'clip'.padEnd(48)} ${pad('N', 5)} ${pad('n', 3)} ${pad('browser', 8)} ${pad('ffmpeg', 8)} ${pad('ratio', 6)}  browser breakdown (last run)`,
    );
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(48)} ${pad(r.frames, 5)} ${pad(r.n, 3)} ${pad(r.browser.toFixed(0), 8)} ${pad(r.ffmpeg.toFixed(0), 8)} ${pad((r.browser / r.ffmpeg).toFixed(2), 6)}  ${r.detail}`,
      );
    }
    const tb = rows.reduce((s, r) => s + r.browser, 0);
    const tf = rows.reduce((s, r) => s + r.ffmpeg, 0);
    console.log(
      `${'total'.padEnd(48)} ${pad('', 5)} ${pad('', 3)} ${pad(tb.toFixed(0), 8)} ${pad(tf.toFixed(0), 8)} ${pad((tb / tf).toFixed(2), 6)}`,
    );
    const cb = rows.reduce((s, r) => s + r.browserCpu, 0);
    const cf = rows.reduce((s, r) => s + r.ffmpegCpu, 0);
    console.log(
      `CPU time (user + system, all Chromium processes vs ffmpeg; 10 ms ticks): browser ${cb.toFixed(0)} ms, ffmpeg ${cf.toFixed(0)} ms, ratio ${(cb / cf).toFixed(3)}`,
    );
    console.log(
      `  Chromium CPU by process over all measured runs: ${[...typeEnd]
        .map(([t, v]) => `${t} ${(v - (typeStart.get(t) ?? 0)).toFixed(0)} ms`)
        .join(', ')}`,
    );
    console.log(
      `load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    console.log(
      `peak memory: Chromium (all processes) ${(peak / 1024).toFixed(0)} MiB, ${((peak - baseline) / 1024).toFixed(0)} MiB above its idle ${(baseline / 1024).toFixed(0)} MiB; ffmpeg max RSS ${(ffmpegPeakKb / 1024).toFixed(0)} MiB`,
    );
    console.log(`video ratio vs ffmpeg: ${(tb / tf).toFixed(3)}`);
  } finally {
    if (server.pid) process.kill(-server.pid);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
