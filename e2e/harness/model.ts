// Browser-test harness of the model stage: loads a model through the real worker client, prepares
// visuals from real PNG frames with the video stage's resizers, runs questions, and reports.
import {
  argmaxLetter,
  argminLetter,
  CHOICE_LETTERS,
  OFFICIAL_CONFIG,
  parseBenchmarkFile,
  questionOptions,
  scoreOfficial,
  type Sample,
  type ScoringModes,
} from '../../src/bench/index';
import {
  DEFAULT_LOAD_SETTINGS,
  patchify,
  type DtypeRequest,
  type LoadEvent,
  type LoadSettings,
  type ModelSource,
  type ModelVisuals,
} from '../../src/model/index';
import { resizePillowBicubic, resizeTorchBicubicAA } from '../../src/video/index';
import { ModelClient, sourceFromFiles, VideoClient, type ModelInfo } from '../../src/worker/index';

const SIDE = 252;
let client: ModelClient | null = null;
const fallbacks: string[] = [];

export interface LoadArgs {
  /** Base URL of the model folder; or 'folder-input' to use the files set on #model-folder. */
  from: string;
  /** Default 'auto', as the app's model step. */
  dtype?: DtypeRequest;
  /** Default 'auto', as the app's model step. */
  device?: LoadSettings['device'];
  graphDtypes?: LoadSettings['graphDtypes'];
  numThreads?: number;
  /** Default false here (the app caches). */
  cache?: boolean;
  enforceLimits?: boolean;
  /** 'auto' picks the fast graphs when the folder has them (the app's default). */
  engine?: LoadSettings['engine'];
  kvCapacity?: number;
  graphCapture?: boolean;
  profile?: boolean;
  gpuSubgroups?: boolean;
  gpuBufferCache?: LoadSettings['gpuBufferCache'];
  q4Int8?: LoadSettings['q4Int8'];
  gpuPendingDispatches?: LoadSettings['gpuPendingDispatches'];
  gpuDecodeAhead?: LoadSettings['gpuDecodeAhead'];
  gpuPatches?: LoadSettings['gpuPatches'];
  gpuShareWeights?: LoadSettings['gpuShareWeights'];
}

interface Failure {
  ok: false;
  error: { code: string; message: string; file?: string };
  events?: LoadEvent[];
}
type Outcome<T> = { ok: true; value: T } | Failure;

function fail(e: unknown): Failure {
  const err = e as { code?: string; message?: string; file?: string };
  return {
    ok: false,
    error: {
      code: err.code ?? 'unknown',
      message: err.message ?? String(e),
      ...(err.file ? { file: err.file } : {}),
    },
  };
}

async function load(args: LoadArgs): Promise<Outcome<{ info: ModelInfo; events: LoadEvent[] }>> {
  client?.terminate();
  client = new ModelClient();
  client.onFallback = (reason) => fallbacks.push(reason);
  const events: LoadEvent[] = [];
  try {
    const input = document.querySelector<HTMLInputElement>('#model-folder');
    let source: ModelSource;
    if (args.from === 'folder-input') source = sourceFromFiles(input?.files ?? []);
    else if (args.from.startsWith('opfs:')) {
      // A FileSystemDirectoryHandle, as showDirectoryPicker() returns (here from the origin's OPFS).
      const root = await navigator.storage.getDirectory();
      source = { kind: 'folder', handle: await root.getDirectoryHandle(args.from.slice(5)) };
    } else source = { kind: 'url', url: new URL(args.from, location.href).href };
    // The settings the app's model step builds, with this test's choices over them.
    const settings: LoadSettings = {
      dtype: args.dtype ?? DEFAULT_LOAD_SETTINGS.dtype,
      graphDtypes: args.graphDtypes ?? DEFAULT_LOAD_SETTINGS.graphDtypes,
      device: args.device ?? DEFAULT_LOAD_SETTINGS.device,
      numThreads: args.numThreads ?? DEFAULT_LOAD_SETTINGS.numThreads,
      cache: args.cache ?? false,
      enforceLimits: args.enforceLimits ?? DEFAULT_LOAD_SETTINGS.enforceLimits,
      engine: args.engine ?? DEFAULT_LOAD_SETTINGS.engine,
      kvCapacity: args.kvCapacity ?? DEFAULT_LOAD_SETTINGS.kvCapacity,
      graphCapture: args.graphCapture ?? DEFAULT_LOAD_SETTINGS.graphCapture,
      profile: args.profile ?? DEFAULT_LOAD_SETTINGS.profile,
      gpuSubgroups: args.gpuSubgroups ?? DEFAULT_LOAD_SETTINGS.gpuSubgroups,
      gpuBufferCache: args.gpuBufferCache ?? DEFAULT_LOAD_SETTINGS.gpuBufferCache,
      q4Int8: args.q4Int8 ?? DEFAULT_LOAD_SETTINGS.q4Int8,
      gpuPendingDispatches:
        args.gpuPendingDispatches === undefined
          ? DEFAULT_LOAD_SETTINGS.gpuPendingDispatches
          : args.gpuPendingDispatches,
      gpuDecodeAhead: args.gpuDecodeAhead ?? DEFAULT_LOAD_SETTINGS.gpuDecodeAhead,
      gpuPatches: args.gpuPatches ?? DEFAULT_LOAD_SETTINGS.gpuPatches,
      gpuShareWeights: args.gpuShareWeights ?? DEFAULT_LOAD_SETTINGS.gpuShareWeights,
    };
    const info = await client.load(source, settings, (e) => events.push(e));
    return { ok: true, value: { info, events } };
  } catch (e) {
    return { ...fail(e), events };
  }
}

/** RGB bytes of a PNG, planar, exactly as stored (no colour management). */
async function decodePng(url: string): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const blob = await (await fetch(url)).blob();
  const bitmap = await createImageBitmap(blob, {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
  });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { colorSpace: 'srgb' }) as OffscreenCanvasRenderingContext2D;
  ctx.drawImage(bitmap, 0, 0);
  const { data, width, height } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  const plane = width * height;
  const rgb = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    rgb[i] = data[4 * i] as number;
    rgb[plane + i] = data[4 * i + 1] as number;
    rgb[2 * plane + i] = data[4 * i + 2] as number;
  }
  return { rgb, width, height };
}

/** Visuals as the official pipeline makes them from already-decoded RGB frames. */
async function visualsFromPngs(
  clipPngs: string[] | null,
  stillPng: string,
  clipTiming: RunArgs['clipTiming'],
  clipValues: RunArgs['clipValues'] = 'float',
): Promise<ModelVisuals> {
  let clip: ModelVisuals['clip'] = null;
  if (clipPngs) {
    const frames: Float32Array[] = [];
    let w = 0;
    let h = 0;
    for (const url of clipPngs) {
      const img = await decodePng(url);
      w = img.width;
      h = img.height;
      const out = new Float32Array(3 * SIDE * SIDE);
      // Float output, not rounded, as the reference fixtures resize (protocol section 2); 'uint8'
      // rounds as the app's video stage does by default.
      resizeTorchBicubicAA(img.rgb, img.width, img.height, SIDE, SIDE, out, clipValues === 'uint8');
      frames.push(out);
    }
    clip = {
      frames,
      indices: [],
      timestampsS: [],
      // The source clip's frame count and rate where given (Qwen2.5-VL's video time needs them).
      frameCount: clipTiming?.frameCount ?? frames.length,
      fps: clipTiming?.fps ?? 0,
      width: w,
      height: h,
      codec: 'png',
    };
  }
  const still = await decodePng(stillPng);
  const stillBytes = resizePillowBicubic(still.rgb, still.width, still.height, SIDE, SIDE);
  return { clip, still: Float32Array.from(stillBytes), stillFrom: 'image' };
}

/** Stats and sample rows of pixel_values per visual, to compare with the reference fixture. */
function pixelSummary(v: ModelVisuals) {
  const items = [
    ...(v.clip && v.clip.frames.length > 0 ? [patchify(v.clip.frames, SIDE, SIDE)] : []),
    patchify([v.still], SIDE, SIDE),
  ];
  return items.map((p) => {
    const n = p.data.length;
    let sum = 0;
    let sq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = p.data[i] as number;
      sum += x;
      sq += x * x;
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    const rows = p.data.length / p.rowLength;
    const row = (r: number) => Array.from(p.data.subarray(r * p.rowLength, r * p.rowLength + 64));
    const mean = sum / n;
    return {
      grid: p.grid,
      shape: [rows, p.rowLength],
      mean,
      std: Math.sqrt(Math.max(0, sq / n - mean * mean)),
      min,
      max,
      rows: { first: row(0), middle: row(Math.floor(rows / 2)), last: row(rows - 1) },
    };
  });
}

export interface RunArgs {
  /** The annotation file's name and one record of it (JSON text). */
  file: string;
  record: string;
  wording?: 'as-is' | 'seed-bench-r1';
  /** Either decoded frames (PNG URLs, resized here) and a still PNG... */
  clipPngs?: string[] | null;
  stillPng?: string;
  /** The PNG frames' source clip: its frame count and fps, as the video stage reports them. */
  clipTiming?: { frameCount: number; fps: number };
  /** ...or a real clip (and optional still) through the video stage's worker. */
  clipUrl?: string;
  stillUrl?: string;
  /**
   * The clip's values (the video stage's, or the PNG frames' resize): 'float' as the reference
   * fixtures, 'uint8' as decord + torchvision (the app's default).
   */
  clipValues?: 'float' | 'uint8';
  scoring: ScoringModes;
  maxNewTokens?: number;
  topLogits?: number;
  logitsAt?: number[];
  checkLikelihood?: boolean;
  /** Cancel after this many streamed tokens (tests cancellation). */
  cancelAfter?: number;
}

async function run(args: RunArgs) {
  if (!client) return fail(new Error('no model loaded'));
  try {
    const parsed = parseBenchmarkFile(args.file, args.record);
    const sample: Sample | undefined = parsed.samples[0];
    if (!sample) throw new Error(`no sample parsed: ${JSON.stringify(parsed.errors)}`);
    let visuals: ModelVisuals;
    let videoTimings: Record<string, number> | null = null;
    if (args.clipUrl) {
      const video = new VideoClient();
      const blob = async (url: string) => (await fetch(url)).blob();
      const prepared = await video.prepare(
        {
          clip: await blob(args.clipUrl),
          clipName: args.clipUrl.split('/').pop() ?? null,
          still: args.stillUrl ? await blob(args.stillUrl) : null,
          stillName: args.stillUrl?.split('/').pop() ?? null,
        },
        { clipValues: args.clipValues ?? 'float' },
      );
      video.dispose();
      videoTimings = { ...prepared.timings };
      visuals = prepared;
    } else {
      visuals = await visualsFromPngs(
        args.clipPngs ?? null,
        args.stillPng ?? '',
        args.clipTiming,
        args.clipValues,
      );
    }
    const pixels = pixelSummary(visuals);
    const tokens: string[] = [];
    const controller = new AbortController();
    // The options object a run builds, from these settings (official where not given).
    const options = questionOptions(
      {
        ...OFFICIAL_CONFIG,
        wording: args.wording ?? 'as-is',
        scoring: args.scoring,
        maxNewTokens: args.maxNewTokens ?? OFFICIAL_CONFIG.maxNewTokens,
      },
      {
        topLogits: args.topLogits ?? 0,
        logitsAt: args.logitsAt ?? [],
        checkLikelihood: args.checkLikelihood ?? false,
      },
    );
    const result = await client.run(sample, visuals, options, {
      signal: controller.signal,
      transfer: true,
      onToken: (text) => {
        tokens.push(text);
        if (args.cancelAfter !== undefined && tokens.length >= args.cancelAfter) controller.abort();
      },
    });
    // The three scoring rules on this answer (official tag rule, first-token letter, likelihood).
    const scores = {
      gold: sample.gold,
      official: scoreOfficial(result.response, sample.gold),
      letter: result.letterLogprobs
        ? argmaxLetter(CHOICE_LETTERS.map((l) => result.letterLogprobs?.[l] ?? -Infinity))
        : null,
      likelihood: result.choiceNll
        ? argminLetter(CHOICE_LETTERS.map((l) => result.choiceNll?.[l] ?? Infinity))
        : null,
    };
    return {
      ok: true as const,
      value: {
        result,
        pixels,
        streamed: tokens.length,
        sample,
        scores,
        videoTimings,
        clipIndices: visuals.clip?.indices ?? null,
      },
    };
  } catch (e) {
    return fail(e);
  }
}

/** Copy model files from a URL folder into an OPFS directory (a real FileSystemDirectoryHandle). */
async function copyToOpfs(base: string, files: string[], name: string): Promise<void> {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(name, { recursive: true }).catch(() => undefined);
  const dir = await root.getDirectoryHandle(name, { create: true });
  for (const f of files) {
    const parts = f.split('/');
    let d = dir;
    for (const part of parts.slice(0, -1)) d = await d.getDirectoryHandle(part, { create: true });
    const handle = await d.getFileHandle(parts.at(-1) as string, { create: true });
    const writable = await handle.createWritable();
    await writable.write(await (await fetch(new URL(f, new URL(base, location.href)))).blob());
    await writable.close();
  }
}

async function loseDevice(): Promise<boolean> {
  return client ? client.loseDeviceForTesting() : false;
}

const harness = { load, run, loseDevice, copyToOpfs, fallbacks, ready: true };
export type ModelHarness = typeof harness;
export type RunOutcome = Awaited<ReturnType<typeof run>>;
export type LoadOutcome = Awaited<ReturnType<typeof load>>;
(window as unknown as { modelHarness: ModelHarness }).modelHarness = harness;
