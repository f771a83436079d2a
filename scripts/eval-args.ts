// The command line of npm run eval: flags, defaults (the official preset), and their checks.
import { parseArgs } from 'node:util';
import {
  OFFICIAL_CONFIG,
  type ClipValues,
  type Level,
  type QuestionWording,
} from '../src/bench/index';

export class UsageError extends Error {}

/** 'auto' resolves at load (the device's default among the files that fit); records say which. */
export const DTYPES = ['fp32', 'fp16', 'q8', 'q4', 'q4f16', 'auto'] as const;
export const DEVICES = ['auto', 'webgpu', 'wasm'] as const;
export const SCORINGS = ['official', 'letters', 'likelihood', 'all'] as const;
export const WORDINGS = ['seed-bench-r1', 'as-is'] as const satisfies readonly QuestionWording[];
/** The CLI's names for the clip frame values (the app's "rounded" / "unrounded floats"). */
export const CLIP_FRAMES = { rounded: 'uint8', float: 'float' } as const satisfies Record<
  string,
  ClipValues
>;

export interface EvalOptions {
  model: string;
  benchmark: string;
  videos: string;
  level: Level | null;
  limit: number | null;
  device: (typeof DEVICES)[number];
  dtype: (typeof DTYPES)[number];
  scoring: (typeof SCORINGS)[number];
  wording: QuestionWording;
  clipValues: ClipValues;
  out: string | null;
  dumpFrames: boolean;
  shard: { index: number; count: number } | null;
  maxNewTokens: number;
  verbose: boolean;
}

function oneOf<T extends string>(
  name: string,
  v: string | undefined,
  allowed: readonly T[],
  d: T,
): T {
  if (v === undefined) return d;
  const found = allowed.find((a) => a === v);
  if (found === undefined) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got "${v}")`);
  }
  return found;
}

export function parseEvalArgs(argv: string[]): EvalOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: 'models/tiny-random-qwen2-vl' },
      benchmark: { type: 'string' },
      videos: { type: 'string' },
      level: { type: 'string' },
      limit: { type: 'string' },
      device: { type: 'string' },
      dtype: { type: 'string' },
      scoring: { type: 'string' },
      wording: { type: 'string' },
      'clip-frames': { type: 'string' },
      out: { type: 'string' },
      'dump-frames': { type: 'boolean', default: false },
      shard: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.benchmark)
    throw new UsageError('--benchmark <annotation file or set id> is required');
  if (!values.videos) throw new UsageError('--videos <folder> is required');
  let shard: EvalOptions['shard'] = null;
  if (values.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(values.shard);
    const index = Number(m?.[1]);
    const count = Number(m?.[2]);
    if (!m || count < 1 || index < 1 || index > count) {
      throw new UsageError(`--shard must be i/n with 1 <= i <= n (got "${values.shard}")`);
    }
    shard = { index, count };
  }
  const limit = values.limit === undefined ? null : Number(values.limit);
  if (limit !== null && !(Number.isInteger(limit) && limit > 0)) {
    throw new UsageError(`--limit must be a positive integer (got "${values.limit}")`);
  }
  const maxNewTokens = Number(values['max-new-tokens'] ?? OFFICIAL_CONFIG.maxNewTokens);
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens > 0)) {
    throw new UsageError('--max-new-tokens must be a positive integer');
  }
  const clip = oneOf('clip-frames', values['clip-frames'], ['rounded', 'float'], 'rounded');
  return {
    model: values.model,
    benchmark: values.benchmark,
    videos: values.videos,
    level:
      values.level === undefined
        ? null
        : oneOf<Level>('level', values.level, ['L1', 'L2', 'L3'], 'L1'),
    limit,
    device: oneOf('device', values.device, DEVICES, 'auto'),
    dtype: oneOf('dtype', values.dtype, DTYPES, 'fp32'),
    scoring: oneOf('scoring', values.scoring, SCORINGS, 'official'),
    wording: oneOf('wording', values.wording, WORDINGS, OFFICIAL_CONFIG.wording),
    clipValues: CLIP_FRAMES[clip],
    out: values.out ?? null,
    dumpFrames: values['dump-frames'],
    shard,
    maxNewTokens,
    verbose: values.verbose,
  };
}
