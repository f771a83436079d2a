import type { StateCreator } from 'zustand';
import {
  identityConflicts,
  matchAllMedia,
  answerSettings,
  OFFICIAL_CONFIG,
  questionOptions,
  randomSubset,
  runIdentity,
  runKey,
  runLabel,
  runSettings,
  type MediaReport,
  type RunConfig,
  type RunIdentity,
  type RunSettings,
  type Sample,
} from '../bench/index';
import {
  getRun,
  listRuns,
  loadResults,
  saveQuestions,
  saveRun,
  type RunRecord,
  type StoredResult,
} from './db';
import type { QuestionFrames } from './frames';
import type { AppState } from './index';
import type { MediaLibrary } from './media';
import { resumeInfo, resumeStoredRun } from './resume';
import { cancelQuestions, runQuestionAgain, runQuestions, wakeQuestions } from './runner';

export interface LiveQuestion {
  sampleId: string;
  stage: 'frames' | 'model';
  text: string;
  tokens: number;
  /** The token budget of this question (the run's max new tokens). */
  maxTokens: number;
  startedAt: number;
  /** performance.now() of the first and the latest token: the live decode rate. */
  firstTokenAt: number | null;
  lastTokenAt: number | null;
}

export interface RunSlice {
  media: MediaLibrary | null;
  runConfig: RunConfig;
  runStatus: 'idle' | 'running' | 'pausing' | 'paused' | 'cancelled' | 'finished';
  runKey: string | null;
  /** The current run's settings record (what its results are keyed and exported by). */
  runSettings: RunSettings | null;
  runSamples: Sample[];
  results: Record<string, StoredResult>;
  live: LiveQuestion | null;
  /** Per-question wall time this session, for the rate and ETA. */
  sessionDurationsMs: number[];
  tokensPerS: number | null;
  frames: Record<string, QuestionFrames>;
  runNotices: string[];
  setMedia: (m: MediaLibrary | null) => void;
  setRunConfig: (c: Partial<RunConfig>) => void;
  /** The questions a run of the current set would take, with what their media lack. */
  plannedQuestions: () => { samples: Sample[]; report: MediaReport | null };
  /** The identity a run started now would have, or why there is none yet. */
  currentIdentity: () => RunIdentity | string;
  startRun: () => Promise<void>;
  pauseRun: () => void;
  resumeRun: () => void;
  cancelRun: () => void;
  /** Runs one question of the current run again, live (the inspector's "Run again"). */
  rerunQuestion: (sampleId: string) => Promise<void>;
  /** Sets a stored run up again (set, settings, model, videos) and continues it. */
  resumeStoredRun: (record: RunRecord) => Promise<void>;
}

/** The run identity of the loaded set and model under the chosen settings. */
export function identityOf(s: AppState): RunIdentity | string {
  if (!s.benchmarkIdentity) return 'No questions to run: pick a benchmark set first.';
  const info = s.modelInfo;
  if (s.modelStatus !== 'ready' || !info || !s.modelLabel) return 'Load a model first.';
  const model = {
    label: s.modelLabel,
    dtype: info.dtype,
    // What took effect (the loader's q4Int8: 'off' wherever it does not apply).
    q4Int8: info.q4Int8,
    digest: info.content.digest,
    files: info.content.files,
  };
  return runIdentity(s.benchmarkIdentity, model, s.runConfig);
}

export const createRunSlice: StateCreator<AppState, [], [], RunSlice> = (set, get) => {
  const notice = (m: string) => set({ runNotices: [...get().runNotices.slice(-49), m] });

  function plannedQuestions() {
    const s = get();
    const all = s.samples.status === 'ready' ? s.samples.value : [];
    const sub = s.runConfig.subset;
    const samples =
      sub.kind === 'all'
        ? all
        : sub.kind === 'first'
          ? all.slice(0, sub.count)
          : randomSubset(all, sub.count, sub.seed);
    return { samples, report: s.media ? matchAllMedia(s.media.index, samples) : null };
  }

  /** Stored runs of the same name and settings but other content: said, never resumed. */
  async function contentNotices(identity: RunIdentity): Promise<string[]> {
    const key = runKey(identity);
    const { runs } = await listRuns().catch(() => ({ runs: [] }));
    const out: string[] = [];
    for (const r of runs) {
      if (!r.settings || r.key === key) continue;
      const diff = identityConflicts(r.settings, identity);
      if (diff.length > 0 && diff.every((d) => d.content))
        out.push(
          `Not resuming ${r.label}: ${diff.map((d) => d.message).join('; ')}. Starting a new run.`,
        );
    }
    return out;
  }

  return {
    media: null,
    runConfig: OFFICIAL_CONFIG,
    runStatus: 'idle',
    runKey: null,
    runSettings: null,
    runSamples: [],
    results: {},
    live: null,
    sessionDurationsMs: [],
    tokensPerS: null,
    frames: {},
    runNotices: [],

    setMedia: (media) => set({ media }),
    setRunConfig: (c) => set({ runConfig: { ...get().runConfig, ...c } }),
    plannedQuestions,
    currentIdentity: () => identityOf(get()),

    async startRun() {
      const s = get();
      if (s.runStatus === 'running' || s.runStatus === 'pausing') return;
      const { samples } = plannedQuestions();
      const identity = identityOf(s);
      if (typeof identity === 'string' || samples.length === 0) {
        notice(typeof identity === 'string' ? identity : 'No questions to run: the set is empty.');
        return;
      }
      const settings = runSettings(identity, {
        subset: s.runConfig.subset,
        device: s.modelRequest?.device ?? 'auto',
      });
      const key = settings.key;
      const notices = await contentNotices(identity);
      const previous = await loadResults(key);
      const results: Record<string, StoredResult> = {};
      for (const r of previous) results[r.sampleId] = r;
      const now = new Date().toISOString();
      const existing = await getRun(key);
      await saveRun({
        key,
        settings,
        label: runLabel(settings),
        sampleIds: samples.map((x) => x.sampleId),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        status: 'running',
        device: s.modelInfo?.device ?? null,
        resume: resumeInfo(s),
      });
      // The questions travel with the run: it stays inspectable without its set file.
      await saveQuestions(key, samples);
      const todo = samples.filter((x) => !results[x.sampleId]);
      set({
        runStatus: 'running',
        // Results and the Inspector follow the run just started.
        viewedKey: null,
        runKey: key,
        runSettings: settings,
        runSamples: samples,
        results,
        sessionDurationsMs: [],
        runNotices: [
          ...notices,
          ...(previous.length > 0
            ? [`Resumed: ${samples.length - todo.length} of ${samples.length} already done.`]
            : []),
        ],
      });
      await runQuestions(get, set, settings, questionOptions(settings), todo);
    },

    pauseRun() {
      if (get().runStatus === 'running') set({ runStatus: 'pausing' });
    },
    resumeRun() {
      const st = get().runStatus;
      if (st !== 'paused' && st !== 'pausing') return;
      set({ runStatus: 'running' });
      wakeQuestions();
    },
    resumeStoredRun: (record) => resumeStoredRun(get, set, record),

    async rerunQuestion(sampleId) {
      const s = get();
      const settings = s.runSettings;
      if (s.runStatus === 'running' || s.runStatus === 'pausing' || !settings) return;
      const sample = s.runSamples.find((x) => x.sampleId === sampleId);
      if (!sample) return;
      // Again means under the run's own settings, with the same model files.
      const now = identityOf(s);
      const diff =
        typeof now === 'string'
          ? [now]
          : identityConflicts(settings, { ...now, ...answerSettings(settings) }).map(
              (d) => d.message,
            );
      if (diff.length > 0) {
        notice(`Not run again: ${diff.join('; ')}.`);
        return;
      }
      await runQuestionAgain(get, set, settings, questionOptions(settings), sample);
    },

    cancelRun() {
      cancelQuestions();
    },
  };
};
