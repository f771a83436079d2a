// The app state, reached only through this module (components never build their own stores, and
// never open IndexedDB: ESLint bans zustand and store/db outside src/store).
import { create } from 'zustand';
import { createBenchmarksSlice, type BenchmarksSlice } from './benchmarks';
import { createHostSlice, type HostSlice } from './host';
import { createModelSlice, type ModelSlice } from './model';
import { createRunSlice, type RunSlice } from './run';
import { createRunsSlice, type RunsSlice } from './runs';
import { createSpotSlice, type SpotSlice } from './spot';
import { createThemeSlice, type ThemeSlice } from './theme';
import { createViewedSlice, type ViewedSlice } from './viewed';

export type { LoadState } from './benchmarks';
export type { FileProgress, ModelForm } from './model';
export { DEFAULT_MODEL_URL, HUB_MODEL_ID } from './model';
export type { LiveQuestion } from './run';
export type { QuestionFrames } from './frames';
export { framesKey } from './frames';
export type { RunStats } from './runs';
export { runStats } from './runs';
export type { StoredRunView } from './viewed';
export type { SetMarks, SpotAnswer, SpotFrames, SpotQuestion } from './spot';
export type { MediaLibrary } from './media';
export { libraryFromDirectory, libraryFromFiles, libraryFromServer } from './media';
export type { RunRecord, StoredResult } from './db';
export type { HostInfo, OfflineReport, CachedFile } from './host';
export type { Theme } from './theme';

export type AppState = BenchmarksSlice &
  ModelSlice &
  RunSlice &
  RunsSlice &
  HostSlice &
  ThemeSlice &
  ViewedSlice &
  SpotSlice;
export type AppGet = () => AppState;
export type AppSet = (partial: Partial<AppState>) => void;

export const useAppStore = create<AppState>()((...a) => ({
  ...createBenchmarksSlice(...a),
  ...createModelSlice(...a),
  ...createRunSlice(...a),
  ...createRunsSlice(...a),
  ...createHostSlice(...a),
  ...createThemeSlice(...a),
  ...createViewedSlice(...a),
  ...createSpotSlice(...a),
}));
