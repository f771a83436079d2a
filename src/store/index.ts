// The app state, reached only through this module (components never build their own stores).
import { create } from 'zustand';
import { createBenchmarksSlice, type BenchmarksSlice } from './benchmarks';
import { createHostSlice, type HostSlice } from './host';
import { createModelSlice, type ModelSlice } from './model';
import { createRunSlice, type RunSlice } from './run';

export type { LoadState } from './benchmarks';
export type { FileProgress } from './model';
export { DEFAULT_MODEL_URL, HUB_MODEL_ID } from './model';
export type { RunConfig, Subset, LiveQuestion, QuestionFrames } from './run';
export { OFFICIAL_CONFIG, isOfficial } from './run';
export type { MediaLibrary } from './media';
export { libraryFromDirectory, libraryFromFiles, libraryFromServer } from './media';
export type { RunRecord, StoredResult, RunSettings } from './db';
export { listRuns, loadResults, deleteRun } from './db';
export type { HostInfo, OfflineReport, CachedFile } from './host';

export type AppState = BenchmarksSlice & ModelSlice & RunSlice & HostSlice;

export const useAppStore = create<AppState>()((...a) => ({
  ...createBenchmarksSlice(...a),
  ...createModelSlice(...a),
  ...createRunSlice(...a),
  ...createHostSlice(...a),
}));
