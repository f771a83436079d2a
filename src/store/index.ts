// The app state, reached only through this module (components never build their own stores).
import { create } from 'zustand';
import { createBenchmarksSlice, type BenchmarksSlice } from './benchmarks';

export type { LoadState } from './benchmarks';
export type AppState = BenchmarksSlice;

export const useAppStore = create<AppState>()((...a) => ({
  ...createBenchmarksSlice(...a),
}));
