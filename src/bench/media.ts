import type { Sample } from './types';

/**
 * Matching questions to the clip and still files of a picked folder. Paths are the protocol's
 * (`videos/<source>/<basename>`, `images/<source>/<basename>`) relative to the dataset root, but a
 * user may pick the root, `videos/`, a source folder or a flat folder of clips: so a file matches by
 * its path suffix, and failing that by its basename when that basename is unique in the folder.
 */
export interface MediaIndex {
  /** Normalised relative path (forward slashes, no leading "./") → the caller's file key. */
  byPath: Map<string, string>;
  /** Basename → keys of every file with that name. */
  byName: Map<string, string[]>;
}

export function indexMediaPaths(paths: Iterable<string>): MediaIndex {
  const byPath = new Map<string, string>();
  const byName = new Map<string, string[]>();
  for (const key of paths) {
    const norm = key.replace(/\\/g, '/').replace(/^\.?\/+/, '');
    byPath.set(norm, key);
    const name = norm.slice(norm.lastIndexOf('/') + 1);
    const list = byName.get(name);
    if (list) list.push(key);
    else byName.set(name, [key]);
  }
  return { byPath, byName };
}

/** The key of the file for a dataset path, or null when none (or an ambiguous basename) matches. */
export function resolveMedia(index: MediaIndex, datasetPath: string): string | null {
  for (const [path, key] of index.byPath) {
    if (
      path === datasetPath ||
      path.endsWith(`/${datasetPath}`) ||
      datasetPath.endsWith(`/${path}`)
    ) {
      return key;
    }
  }
  const name = datasetPath.slice(datasetPath.lastIndexOf('/') + 1);
  const same = index.byName.get(name);
  return same && same.length === 1 ? (same[0] ?? null) : null;
}

export interface SampleMedia {
  sampleId: string;
  /** File key of the clip; null when the question has none or it is missing. */
  clip: string | null;
  /** File key of the still; null when the observation is the clip's last frame or it is missing. */
  still: string | null;
  /** What is needed and not found, as dataset paths (first candidate). */
  missing: string[];
}

export function matchSampleMedia(index: MediaIndex, sample: Sample): SampleMedia {
  const missing: string[] = [];
  let clip: string | null = null;
  if (sample.hasClip && sample.clipPaths) {
    for (const p of sample.clipPaths) {
      clip = resolveMedia(index, p);
      if (clip) break;
    }
    if (!clip) missing.push(sample.clipPaths[0] ?? `clip of ${sample.sampleId}`);
  }
  let still: string | null = null;
  if (sample.stillPath) {
    still = resolveMedia(index, sample.stillPath);
    if (!still) missing.push(sample.stillPath);
  }
  return { sampleId: sample.sampleId, clip, still, missing };
}

export interface MediaReport {
  matched: SampleMedia[];
  /** Questions that lack at least one file. */
  incomplete: SampleMedia[];
}

export function matchAllMedia(index: MediaIndex, samples: readonly Sample[]): MediaReport {
  const matched = samples.map((s) => matchSampleMedia(index, s));
  return { matched, incomplete: matched.filter((m) => m.missing.length > 0) };
}
