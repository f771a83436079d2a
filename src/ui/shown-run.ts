// The run Results and the Inspector show: the current run (live), or a stored run reopened from
// IndexedDB (store/viewed.ts). One hook, so both views always show the same run.
import { useEffect, useMemo } from 'react';
import type { RunSettings, Sample } from '../bench/index';
import { useAppStore, type RunRecord, type StoredResult } from '../store/index';
import { readUrlState } from './url';

export interface ShownRun {
  /** 'current': this session's run (live results); 'stored': reopened from IndexedDB. */
  kind: 'current' | 'stored';
  key: string;
  record: RunRecord | null;
  settings: RunSettings | null;
  samples: Sample[];
  results: Record<string, StoredResult>;
  /** Set when the questions could not be brought back whole (see StoredRunView). */
  questionsNote: string | null;
}

export type ShownRunState =
  | { status: 'none' }
  | { status: 'loading'; key: string }
  | { status: 'error'; message: string }
  | { status: 'ready'; run: ShownRun };

const NOTES = {
  stored: null,
  set: 'Questions read from the served set file (this run was stored before runs kept them).',
  'set-changed':
    'The served set file differs from the records this run was made with (or is missing): questions that no longer match are not shown.',
  none: 'The questions of this run were not kept (an older version) and its set is not served: results only.',
} as const;

let linkedRun: string | null = readUrlState().run;

export function useShownRun(): ShownRunState {
  const viewedKey = useAppStore((s) => s.viewedKey);
  const viewed = useAppStore((s) => s.viewed);
  const runKey = useAppStore((s) => s.runKey);
  const runSettings = useAppStore((s) => s.runSettings);
  const runSamples = useAppStore((s) => s.runSamples);
  const results = useAppStore((s) => s.results);
  const storedRuns = useAppStore((s) => s.storedRuns);
  const openLastRun = useAppStore((s) => s.openLastRun);

  const openRun = useAppStore((s) => s.openRun);
  useEffect(() => {
    // A link (?run=<run key>) opens that run, once per page load.
    const linked = linkedRun;
    linkedRun = null;
    if (linked) void openRun(linked);
    // With no current run and nothing chosen, the last stored run opens (after a restart).
    else if (runKey === null && viewedKey === null) void openLastRun();
  }, [runKey, viewedKey, openLastRun, openRun]);

  return useMemo((): ShownRunState => {
    const current = viewedKey === null || viewedKey === runKey;
    if (current) {
      if (runKey === null) return { status: 'none' };
      return {
        status: 'ready',
        run: {
          kind: 'current',
          key: runKey,
          record: storedRuns.find((r) => r.key === runKey) ?? null,
          settings: runSettings,
          samples: runSamples,
          results,
          questionsNote: null,
        },
      };
    }
    if (!viewed || viewed.status === 'loading' || viewed.status === 'idle')
      return { status: 'loading', key: viewedKey };
    if (viewed.status === 'error') return { status: 'error', message: viewed.message };
    const v = viewed.value;
    return {
      status: 'ready',
      run: {
        kind: 'stored',
        key: v.key,
        // The list's copy is newer when the run changed since it was opened.
        record: storedRuns.find((r) => r.key === v.key) ?? v.record,
        settings: v.settings,
        samples: v.samples,
        results: v.results,
        questionsNote: NOTES[v.questionsFrom],
      },
    };
  }, [viewedKey, viewed, runKey, runSettings, runSamples, results, storedRuns]);
}
