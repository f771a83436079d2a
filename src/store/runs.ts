import type { StateCreator } from 'zustand';
import { accuracyCell, errorMessage, type AccuracyCell } from '../bench/index';
import {
  deleteRun,
  listRuns,
  loadResults,
  saveResult,
  saveRun,
  type RunRecord,
  type StoredResult,
} from './db';

/** What the run list shows of a stored run, computed from its stored results. */
export interface RunStats {
  /** The record's updatedAt these were computed at (recomputed when it moves). */
  updatedAt: string;
  /** Questions of the run with a stored result / questions of the run. */
  done: number;
  total: number;
  errors: number;
  /** The official rule over the finished questions (n 0 when it did not run). */
  official: AccuracyCell;
  /** Time spent on the questions (the sum of their wall times; pauses excluded). */
  durationMs: number;
  /** Devices the questions ran on. */
  devices: string[];
}

/** A run's stats from its record and results (the current run's come from the live state). */
export function runStats(
  record: Pick<RunRecord, 'sampleIds' | 'updatedAt'>,
  results: readonly StoredResult[],
): RunStats {
  const ids = new Set(record.sampleIds);
  const inRun = results.filter((r) => ids.has(r.sampleId));
  return {
    updatedAt: record.updatedAt,
    done: inRun.length,
    total: record.sampleIds.length,
    errors: inRun.filter((r) => r.error).length,
    official: accuracyCell(inRun, 'official'),
    durationMs: inRun.reduce((s, r) => s + (r.timings.totalMs ?? 0), 0),
    devices: [...new Set(inRun.flatMap((r) => (r.device ? [r.device] : [])))],
  };
}

/** Stored runs (IndexedDB), reached by components only through this slice. */
export interface RunsSlice {
  storedRuns: RunRecord[];
  /** Why the list could not be read, or records that could not be (by field). */
  storedRunsMessages: string[];
  /** Per run key: done/total, accuracy, duration (filled in after each refresh). */
  runStats: Record<string, RunStats>;
  /** Reads the list again (newest first), then the stats of runs that changed. */
  refreshStoredRuns: () => Promise<void>;
  /** A stored run's results (every question stored under its key). */
  storedResults: (key: string) => Promise<StoredResult[]>;
  deleteStoredRun: (key: string) => Promise<void>;
  /** Stores a finished run as a run would have (browser tests of the Results view). */
  putStoredRun: (record: RunRecord, results: StoredResult[]) => Promise<void>;
}

export const createRunsSlice: StateCreator<RunsSlice> = (set, get) => ({
  storedRuns: [],
  storedRunsMessages: [],
  runStats: {},

  async refreshStoredRuns() {
    try {
      const { runs, unreadable } = await listRuns();
      const sorted = [...runs].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
      set({ storedRuns: sorted, storedRunsMessages: unreadable });
      const stats = { ...get().runStats };
      for (const r of sorted) {
        if (stats[r.key]?.updatedAt === r.updatedAt && r.status !== 'running') continue;
        stats[r.key] = runStats(r, await loadResults(r.key));
      }
      set({ runStats: stats });
    } catch (e) {
      set({ storedRunsMessages: [errorMessage(e)] });
    }
  },

  storedResults: (key) => loadResults(key),

  async deleteStoredRun(key) {
    await deleteRun(key);
    await get().refreshStoredRuns();
  },

  async putStoredRun(record, results) {
    await saveRun(record);
    for (const r of results) await saveResult(r);
    await get().refreshStoredRuns();
  },
});
