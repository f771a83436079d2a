import type { AppGet, AppSet } from './index';
import type { Prepared } from './prepare';

/** Frames of recently run questions, kept in memory for the inspector (object URLs). */
export interface QuestionFrames {
  previews: string[];
  indices: number[] | null;
  timestampsS: number[] | null;
  stillFrom: 'image' | 'last-frame';
}

/** Only the most recent questions keep their thumbnails in memory. */
const KEEP_FRAMES = 24;

/** Keeps a question's thumbnails for the Inspector, dropping (and revoking) the oldest. */
export function keepFrames(get: AppGet, set: AppSet, sampleId: string, p: Prepared): void {
  if (!p.ok) return;
  const urls = p.previews.map((b) => URL.createObjectURL(b));
  const entries = Object.entries(get().frames).filter(([k]) => k !== sampleId);
  entries.push([
    sampleId,
    { previews: urls, indices: p.indices, timestampsS: p.timestampsS, stillFrom: p.stillFrom },
  ]);
  const dropped = entries.splice(0, Math.max(0, entries.length - KEEP_FRAMES));
  for (const [, f] of dropped) f.previews.forEach((u) => URL.revokeObjectURL(u));
  set({ frames: Object.fromEntries(entries) });
}
