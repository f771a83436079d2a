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
