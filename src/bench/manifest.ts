import { z } from 'zod';
import { describeIssue } from './records';
import type { BenchmarkFormat, Level, Sample } from './types';

/** One benchmark set the app can pick: a level of one annotation file. */
export interface BenchmarkSetInfo {
  id: string;
  title: string;
  level: Level;
  questions: number;
  /** Questions whose prompt includes a progress clip. */
  withClip: number;
  sourceFile: string;
  format: BenchmarkFormat;
  /** Path of the set file, relative to the manifest. */
  file: string;
  /** L3 domains present, with question counts. */
  domains: Record<string, number>;
  /** Records skipped as invalid when the set was built. */
  skipped: number;
}

export interface BenchmarkManifest {
  version: 1;
  createdAt: string;
  sets: BenchmarkSetInfo[];
}

export interface BenchmarkSetFile {
  id: string;
  level: Level;
  samples: Sample[];
}

const FORMAT_TITLES: Record<BenchmarkFormat, string> = {
  'seed-bench-r1-jsonl': 'SEED-Bench-R1 validation',
  'egoplan-json': 'EgoPlan-Bench validation',
  'egoplan-bench2-json': 'EgoPlan-Bench2',
  'egoplan-bench2-examples-jsonl': 'EgoPlan-Bench2 examples',
};

const SET_PREFIX: Record<BenchmarkFormat, string> = {
  'seed-bench-r1-jsonl': 'seed-bench-r1',
  'egoplan-json': 'egoplan-validation',
  'egoplan-bench2-json': 'egoplan-bench2',
  'egoplan-bench2-examples-jsonl': 'egoplan-bench2-examples',
};

/** Splits parsed samples into one set per level. */
export function buildSets(
  format: BenchmarkFormat,
  sourceFile: string,
  samples: readonly Sample[],
  skipped: number,
): { info: BenchmarkSetInfo; file: BenchmarkSetFile }[] {
  const byLevel = new Map<Level, Sample[]>();
  for (const s of samples) {
    const list = byLevel.get(s.level);
    if (list) list.push(s);
    else byLevel.set(s.level, [s]);
  }
  return [...byLevel.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([level, list]) => {
      const id = `${SET_PREFIX[format]}-${level}`;
      const domains: Record<string, number> = {};
      for (const s of list) if (s.domain) domains[s.domain] = (domains[s.domain] ?? 0) + 1;
      return {
        info: {
          id,
          title: `${FORMAT_TITLES[format]} ${level}`,
          level,
          questions: list.length,
          withClip: list.filter((s) => s.hasClip).length,
          sourceFile,
          format,
          file: `${id}.json`,
          domains,
          // Invalid records have no level; they are reported against every set of the file.
          skipped,
        },
        file: { id, level, samples: list },
      };
    });
}

// Schemas of the files fetch-benchmarks writes: the app and the CLI read them back through these,
// so a stale or damaged file is refused with its name and the field that is wrong.
const level = z.enum(['L1', 'L2', 'L3']);
const format = z.enum([
  'seed-bench-r1-jsonl',
  'egoplan-json',
  'egoplan-bench2-json',
  'egoplan-bench2-examples-jsonl',
]);

export const benchmarkManifestSchema = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  sets: z.array(
    z.object({
      id: z.string().min(1),
      title: z.string(),
      level,
      questions: z.number().int().nonnegative(),
      withClip: z.number().int().nonnegative(),
      sourceFile: z.string(),
      format,
      file: z.string().regex(/^[\w.-]+\.json$/, 'expected a file name beside the manifest'),
      domains: z.record(z.string(), z.number().int()),
      skipped: z.number().int().nonnegative(),
    }),
  ),
});

export const sampleSchema = z.object({
  sampleId: z.string().min(1),
  rawSampleId: z.union([z.number().int(), z.string()]),
  level,
  question: z.string(),
  choices: z.tuple([z.string(), z.string(), z.string(), z.string()]),
  gold: z.enum(['A', 'B', 'C', 'D']),
  answer: z.string(),
  videoSource: z.enum(['EpicKitchens', 'Ego4D']),
  videoId: z.string().nullable(),
  taskGoal: z.string().nullable(),
  progress: z.array(
    z.object({ narrationText: z.string(), startFrame: z.number(), stopFrame: z.number() }),
  ),
  hasClip: z.boolean(),
  clipPaths: z.array(z.string()).nullable(),
  stillPath: z.string().nullable(),
  domain: z.string().nullable(),
  scenario: z.string().nullable(),
  format,
  origin: z.object({
    file: z.string(),
    line: z.number().int().optional(),
    index: z.number().int().optional(),
  }),
});

export const benchmarkSetFileSchema = z.object({
  id: z.string(),
  level,
  samples: z.array(sampleSchema),
});

/** Parses a JSON text with a schema; errors read "file field: message" (line-free JSON files). */
export function readJsonFile<T>(file: string, text: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : 'parse error'})`, {
      cause: e,
    });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const { field, message } = describeIssue(parsed.error);
    throw new Error(`${file} ${field}: ${message}`);
  }
  return parsed.data;
}
