import { errorMessage } from '../bench/index';
import { loadFrames, saveFrames } from './db';
import type { AppGet, AppSet } from './index';
import type { Prepared } from './prepare';

/** The frames a question's model got, as thumbnails (object URLs) with their clip positions. */
export interface QuestionFrames {
  previews: string[];
  indices: number[] | null;
  timestampsS: number[] | null;
  stillFrom: 'image' | 'last-frame';
}

/** Frames are kept per run and question: two runs of one question may sample differently. */
export function framesKey(runKey: string, sampleId: string): string {
  return `${runKey}\u0000${sampleId}`;
}

/** Only the most recently shown questions keep their thumbnails in memory (the rest: IndexedDB). */
const KEEP_FRAMES = 48;

function remember(get: AppGet, set: AppSet, key: string, frames: QuestionFrames): void {
  const entries = Object.entries(get().frames).filter(([k]) => k !== key);
  entries.push([key, frames]);
  const dropped = entries.splice(0, Math.max(0, entries.length - KEEP_FRAMES));
  for (const [, f] of dropped) f.previews.forEach((u) => URL.revokeObjectURL(u));
  set({ frames: Object.fromEntries(entries) });
}

/**
 * Keeps a question's thumbnails for the Inspector: in memory, and in IndexedDB with the run, so
 * "what did the model see" still answers after a restart. Resolves once they are stored.
 */
export async function keepFrames(
  get: AppGet,
  set: AppSet,
  runKey: string,
  sampleId: string,
  p: Prepared,
): Promise<void> {
  if (!p.ok) return;
  const stored = {
    runKey,
    sampleId,
    previews: p.previews,
    indices: p.indices,
    timestampsS: p.timestampsS,
    stillFrom: p.stillFrom,
  };
  remember(get, set, framesKey(runKey, sampleId), {
    previews: p.previews.map((b) => URL.createObjectURL(b)),
    indices: p.indices,
    timestampsS: p.timestampsS,
    stillFrom: p.stillFrom,
  });
  try {
    await saveFrames(stored);
  } catch (e) {
    // The result itself is stored apart from its thumbnails: it is never lost with them.
    set({
      runNotices: [
        ...get().runNotices.slice(-49),
        `${sampleId}: frames not kept (${errorMessage(e)})`,
      ],
    });
  }
}

/**
 * Brings a stored question's thumbnails back into memory. Resolves to false when the run kept
 * none for it (a question that failed before its frames, or a run of an older version).
 */
export async function recallFrames(
  get: AppGet,
  set: AppSet,
  runKey: string,
  sampleId: string,
): Promise<boolean> {
  const key = framesKey(runKey, sampleId);
  if (get().frames[key]) return true;
  const stored = await loadFrames(runKey, sampleId);
  if (!stored) return false;
  if (get().frames[key]) return true;
  remember(get, set, key, {
    previews: stored.previews.map((b) => URL.createObjectURL(b)),
    indices: stored.indices,
    timestampsS: stored.timestampsS,
    stillFrom: stored.stillFrom,
  });
  return true;
}
