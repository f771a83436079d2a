/**
 * The run Results and the Inspector show: the current run, or any stored run, reopened from
 * IndexedDB (record, questions, results; frames on demand) after a reload or a browser restart.
 */
import type { StateCreator } from 'zustand';
import {
  benchmarkSetFileSchema,
  errorMessage,
  readJsonFile,
  samplesDigest,
  type ClipValues,
  type RunSettings,
  type Sample,
} from '../bench/index';
import type { LoadState } from './benchmarks';
import { getRun, loadQuestions, loadResults, type RunRecord, type StoredResult } from './db';
import { keepFrames, recallFrames } from './frames';
import type { AppState } from './index';
import { libraryFromServer } from './media';
import { prepareQuestion } from './prepare';

export interface StoredRunView {
  key: string;
  record: RunRecord;
  settings: RunSettings | null;
  /** The run's questions, in order (only those whose record could be found). */
  samples: Sample[];
  results: Record<string, StoredResult>;
  /**
   * Where the questions came from: kept with the run, or (runs of older versions) the served set
   * file, whose records may have changed since ('set-changed'); 'none': only results are known.
   */
  questionsFrom: 'stored' | 'set' | 'set-changed' | 'none';
}

export interface ViewedSlice {
  /** A stored run's key, or null: follow the current run. */
  viewedKey: string | null;
  /** The stored run being shown when it is not the current run. */
  viewed: LoadState<StoredRunView> | null;
  /** Shows a stored run (null: the current one). */
  openRun: (key: string | null) => Promise<void>;
  /** With no current run and nothing chosen: the most recently updated stored run. */
  openLastRun: () => Promise<void>;
  /**
   * Makes the shown stored run the current one (so "Run again" runs under its settings), unless
   * a run is in progress. False when it could not.
   */
  adoptViewedRun: () => boolean;
  /** Loads a stored question's thumbnails into `frames` (false: none were kept). */
  recallFrames: (runKey: string, sampleId: string) => Promise<boolean>;
  /**
   * For a question whose run kept no thumbnails (older versions): decodes its clip again from the
   * clips folder, the way the run did, and keeps the frames when they are the ones the run
   * recorded. Resolves to why not, or null.
   */
  redecodeFrames: (
    runKey: string,
    sample: Sample,
    clipValues: ClipValues,
    recorded: readonly number[] | null,
  ) => Promise<string | null>;
}

const BENCHMARKS_URL = `${import.meta.env.BASE_URL}benchmarks/`;

/** Questions of runs stored before questions were kept: from the set file, when it is served. */
async function questionsFromSet(s: AppState, setId: string): Promise<Sample[] | null> {
  const manifest = s.manifest.status === 'ready' ? s.manifest.value : null;
  const info = manifest?.sets.find((x) => x.id === setId);
  if (!info) return null;
  const url = `${BENCHMARKS_URL}${info.file}`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return readJsonFile(url, await res.text(), benchmarkSetFileSchema).samples;
}

export const createViewedSlice: StateCreator<AppState, [], [], ViewedSlice> = (set, get) => ({
  viewedKey: null,
  viewed: null,

  async openRun(key) {
    if (key === null || key === get().runKey) {
      set({ viewedKey: key, viewed: null });
      return;
    }
    set({ viewedKey: key, viewed: { status: 'loading' } });
    const still = () => get().viewedKey === key;
    try {
      const record = await getRun(key);
      if (!record) throw new Error(`no stored run ${key}`);
      const [stored, results] = await Promise.all([loadQuestions(key), loadResults(key)]);
      let samples = stored;
      let questionsFrom: StoredRunView['questionsFrom'] = 'stored';
      if (!samples && record.settings) {
        samples = await questionsFromSet(get(), record.settings.benchmark.id).catch(() => null);
        questionsFrom =
          samples && samplesDigest(samples) === record.settings.benchmark.digest
            ? 'set'
            : 'set-changed';
      }
      const byId = new Map((samples ?? []).map((x) => [x.sampleId, x]));
      const inOrder = record.sampleIds.flatMap((id) => byId.get(id) ?? []);
      if (!still()) return;
      set({
        viewed: {
          status: 'ready',
          value: {
            key,
            record,
            settings: record.settings,
            samples: inOrder,
            results: Object.fromEntries(results.map((r) => [r.sampleId, r])),
            questionsFrom: inOrder.length > 0 ? questionsFrom : 'none',
          },
        },
      });
    } catch (e) {
      if (still()) set({ viewed: { status: 'error', message: errorMessage(e) } });
    }
  },

  async openLastRun() {
    if (get().runKey !== null || get().viewedKey !== null) return;
    if (get().storedRuns.length === 0) await get().refreshStoredRuns();
    const last = get().storedRuns[0];
    // Another choice may have been made meanwhile.
    if (last && get().runKey === null && get().viewedKey === null) await get().openRun(last.key);
  },

  adoptViewedRun() {
    const s = get();
    const v = s.viewed?.status === 'ready' ? s.viewed.value : null;
    if (!v || s.viewedKey !== v.key) return true;
    if (s.runStatus === 'running' || s.runStatus === 'pausing' || s.runStatus === 'paused') {
      set({
        runNotices: [
          ...s.runNotices.slice(-49),
          'A run is in progress: run questions of another run once it ends.',
        ],
      });
      return false;
    }
    if (!v.settings) {
      set({
        runNotices: [
          ...s.runNotices.slice(-49),
          `${v.record.label} was stored without its settings: it cannot be run again.`,
        ],
      });
      return false;
    }
    set({
      runKey: v.key,
      runSettings: v.settings,
      runSamples: v.samples,
      results: v.results,
      runStatus: v.record.status === 'finished' ? 'finished' : 'cancelled',
      sessionDurationsMs: [],
      viewedKey: null,
      viewed: null,
    });
    return true;
  },

  recallFrames: (runKey, sampleId) => recallFrames(get, set, runKey, sampleId),

  async redecodeFrames(runKey, sample, clipValues, recorded) {
    if (!get().media) {
      const served = await libraryFromServer();
      if (served && !get().media) set({ media: served });
    }
    const media = get().media;
    if (!media) return 'No clips folder: pick one in the Run view (Videos), then try again.';
    const p = await prepareQuestion(sample, media, clipValues);
    if (!p.ok) return `${p.stage}: ${p.message}`;
    const same = (p.indices ?? []).join(',') === (recorded ?? []).join(',');
    if (!same)
      return `The clip in ${media.label} gives frames ${(p.indices ?? []).join(', ')}, not the ${(recorded ?? []).join(', ')} this run recorded: it is not the file the run read.`;
    await keepFrames(get, set, runKey, sample.sampleId, p);
    return null;
  },
});
