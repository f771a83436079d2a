import type { StateCreator } from 'zustand';
import { errorMessage } from '../bench/index';
import {
  deleteRun,
  listRuns,
  loadResults,
  saveResult,
  saveRun,
  type RunRecord,
  type StoredResult,
} from './db';

/** Stored runs (IndexedDB), reached by components only through this slice. */
export interface RunsSlice {
  storedRuns: RunRecord[];
  /** Why the list could not be read, or records that could not be (by field). */
  storedRunsMessages: string[];
  /** Reads the list again (newest first). */
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

  async refreshStoredRuns() {
    try {
      const { runs, unreadable } = await listRuns();
      set({
        storedRuns: [...runs].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)),
        storedRunsMessages: unreadable,
      });
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
