/**
 * Spot checks from the question itself (the Benchmarks view and presentation mode): the clip and
 * still of one question with the frames a run would sample (the same video-worker call a run
 * makes), "Run this question" through the run's own question path (store/runner.ts) under the
 * settings of the Run view, and the right/wrong marks of the browsed set's latest run.
 */
import type { StateCreator } from 'zustand';
import {
  errorMessage,
  questionOptions,
  runKey,
  runLabel,
  runSettings,
  type Sample,
} from '../bench/index';
import type { DeviceRequest, DtypeRequest, ModelSource, Q4Int8Request } from '../model/index';
import type { LoadState } from './benchmarks';
import {
  getRun,
  loadQuestions,
  loadResults,
  saveQuestions,
  saveRun,
  type StoredResult,
} from './db';
import type { QuestionFrames } from './frames';
import type { AppState } from './index';
import { libraryFromServer, type MediaLibrary } from './media';
import { prepareQuestion } from './prepare';
import { DEFAULT_MODEL_URL } from './model';
import { resumeInfo, storedModelRequest } from './resume';
import { identityOf } from './run';
import { runQuestionAgain } from './runner';

export interface SpotFrames extends QuestionFrames {
  /** Object URLs of the question's own files, for <video> and <img> (null: none). */
  clipUrl: string | null;
  stillUrl: string | null;
}

export interface SpotQuestion {
  sampleId: string;
  frames: LoadState<SpotFrames>;
}

export interface SpotAnswer {
  sampleId: string;
  runKey: string;
  status: 'running' | 'done' | 'refused';
  result: StoredResult | null;
  message: string | null;
}

/** The stored results the question list marks right or wrong: one run of the browsed set. */
export interface SetMarks {
  runKey: string;
  label: string;
  results: Record<string, StoredResult>;
}

export interface SpotSlice {
  /** Presentation mode: one question full screen (the app's shell steps aside). */
  presenting: boolean;
  setPresenting: (on: boolean) => void;
  spot: SpotQuestion | null;
  spotAnswer: SpotAnswer | null;
  setMarks: SetMarks | null;
  /** Opens a question's files and samples its frames (null: let go of the last one). */
  showSpot: (sample: Sample | null) => Promise<void>;
  /** Runs one question of the browsed set with the loaded model, streaming into `live`. */
  runSpot: (sampleId: string) => Promise<void>;
  /** Finds the browsed set's run (the one a run started now would be, else the latest). */
  refreshSetMarks: () => Promise<void>;
  /**
   * The model to load where there is no Run view (presentation mode): the latest stored run's,
   * as it was asked for (dtype, device), else the built-in tiny test model.
   */
  lastModel: () => {
    source: ModelSource;
    label: string;
    dtype: DtypeRequest;
    device: DeviceRequest;
    q4Int8: Q4Int8Request;
  };
}

function release(f: SpotQuestion | null): void {
  if (f?.frames.status !== 'ready') return;
  const v = f.frames.value;
  for (const u of [...v.previews, v.clipUrl, v.stillUrl]) if (u) URL.revokeObjectURL(u);
}

/** The name runs record for the browsed set ("file:x.json" sets are runs of "x.json"). */
function benchmarkIdOf(setId: string | null): string | null {
  if (!setId) return null;
  return setId.startsWith('file:') ? setId.slice('file:'.length) : setId;
}

/** Ensures the run a spot check belongs to is stored, with its questions, as the newest run. */
async function spotRecord(s: AppState, sample: Sample, settings: ReturnType<typeof runSettings>) {
  const now = new Date().toISOString();
  const existing = await getRun(settings.key);
  if (existing) {
    await saveRun({ ...existing, updatedAt: now });
    const questions = (await loadQuestions(settings.key)) ?? [];
    if (!questions.some((q) => q.sampleId === sample.sampleId))
      await saveQuestions(settings.key, [...questions, sample]);
    return;
  }
  // A spot check is one question of the run these settings make: the rest is left to Resume.
  const planned = s.plannedQuestions().samples;
  const samples = planned.some((q) => q.sampleId === sample.sampleId)
    ? planned
    : [...planned, sample];
  await saveRun({
    key: settings.key,
    settings,
    label: runLabel(settings),
    sampleIds: planned.map((q) => q.sampleId),
    createdAt: now,
    updatedAt: now,
    status: 'paused',
    device: s.modelInfo?.device ?? null,
    resume: resumeInfo(s),
  });
  await saveQuestions(settings.key, samples);
}

export const createSpotSlice: StateCreator<AppState, [], [], SpotSlice> = (set, get) => {
  let showing = 0;
  // The demo clips served beside the app (what the Videos step defaults to), asked for until found.
  let served: Promise<MediaLibrary | null> | null = null;

  async function defaultMedia() {
    if (get().media) return;
    const library = await (served ??= libraryFromServer());
    if (!library) served = null;
    else if (!get().media) set({ media: library });
  }

  return {
    // A talk link (?present=1&set=…&q=…) opens straight into presentation mode.
    presenting: new URLSearchParams(location.search).get('present') === '1',
    setPresenting: (presenting) => set({ presenting }),
    spot: null,
    spotAnswer: null,
    setMarks: null,

    async showSpot(sample) {
      const mine = ++showing;
      release(get().spot);
      if (!sample) {
        set({ spot: null });
        return;
      }
      const sampleId = sample.sampleId;
      set({ spot: { sampleId, frames: { status: 'loading' } } });
      await defaultMedia();
      const media = get().media;
      if (mine !== showing) return;
      if (!media) {
        set({
          spot: {
            sampleId,
            frames: {
              status: 'error',
              message:
                'No clips to play: pick the dataset folder (Run view, Videos), or serve demo-videos/ beside the app (npm run add-clips).',
            },
          },
        });
        return;
      }
      const p = await prepareQuestion(sample, media, get().runConfig.clipValues);
      const url = (b: Blob | null) => (b ? URL.createObjectURL(b) : null);
      const frames: LoadState<SpotFrames> = p.ok
        ? {
            status: 'ready',
            value: {
              previews: p.previews.map((b) => URL.createObjectURL(b)),
              indices: p.indices,
              timestampsS: p.timestampsS,
              stillFrom: p.stillFrom,
              clipUrl: url(p.files.clip),
              stillUrl: url(p.files.still),
            },
          }
        : { status: 'error', message: `${p.stage}: ${p.message}` };
      if (mine !== showing) {
        release({ sampleId, frames });
        return;
      }
      set({ spot: { sampleId, frames } });
    },

    async runSpot(sampleId) {
      const s = get();
      const refuse = (message: string) =>
        set({ spotAnswer: { sampleId, runKey: '', status: 'refused', result: null, message } });
      if (s.spotAnswer?.status === 'running') return;
      if (s.runStatus === 'running' || s.runStatus === 'pausing' || s.runStatus === 'paused') {
        refuse('A run is in progress: pause or finish it first (Run view).');
        return;
      }
      const sample =
        s.samples.status === 'ready' ? s.samples.value.find((x) => x.sampleId === sampleId) : null;
      if (!sample) {
        refuse(`Question ${sampleId} is not in the browsed set.`);
        return;
      }
      const identity = identityOf(s);
      if (typeof identity === 'string') {
        refuse(identity);
        return;
      }
      await defaultMedia();
      // The run a spot check belongs to: the Run view's settings, the loaded model, this set.
      const settings = runSettings(identity, {
        subset: s.runConfig.subset,
        device: s.modelRequest?.device ?? 'auto',
      });
      set({
        spotAnswer: {
          sampleId,
          runKey: settings.key,
          status: 'running',
          result: null,
          message: null,
        },
      });
      try {
        await spotRecord(get(), sample, settings);
        const stored = await runQuestionAgain(
          get,
          set,
          settings,
          questionOptions(settings),
          sample,
          (r) => {
            // The current run of the same settings sees it too (it is one of its questions).
            if (get().runKey === settings.key)
              set({ results: { ...get().results, [r.sampleId]: r } });
            const marks = get().setMarks;
            if (marks?.runKey === settings.key)
              set({ setMarks: { ...marks, results: { ...marks.results, [r.sampleId]: r } } });
          },
        );
        set({
          spotAnswer: {
            sampleId,
            runKey: settings.key,
            status: 'done',
            result: stored,
            message: stored ? null : 'Cancelled.',
          },
        });
      } catch (e) {
        set({
          spotAnswer: {
            sampleId,
            runKey: settings.key,
            status: 'done',
            result: null,
            message: errorMessage(e),
          },
        });
      }
      await get().refreshSetMarks();
    },

    lastModel() {
      for (const r of get().storedRuns) {
        const m = storedModelRequest(r.resume);
        if (m) return m;
      }
      return {
        source: { kind: 'url', url: DEFAULT_MODEL_URL },
        label: 'tiny-random-qwen2-vl',
        dtype: 'fp32',
        device: 'auto',
        q4Int8: 'default',
      };
    },

    async refreshSetMarks() {
      const s = get();
      const id = benchmarkIdOf(s.setId);
      if (!id) {
        set({ setMarks: null });
        return;
      }
      await get().refreshStoredRuns();
      const runs = get().storedRuns.filter((r) => r.settings?.benchmark.id === id);
      // The run a spot check would add to (the loaded model under the Run view's settings).
      const identity = identityOf(get());
      const key = typeof identity === 'string' ? null : runKey(identity);
      const now = runs.find((r) => r.key === key);
      // Newest first (storedRuns is sorted): the latest run over this set's current records.
      const run =
        now ??
        runs.find((r) => r.settings?.benchmark.digest === s.benchmarkIdentity?.digest) ??
        null;
      if (!run) {
        set({ setMarks: null });
        return;
      }
      const results = await loadResults(run.key).catch(() => []);
      if (benchmarkIdOf(get().setId) !== id) return;
      set({
        setMarks: {
          runKey: run.key,
          label: run.label,
          results: Object.fromEntries(results.map((r) => [r.sampleId, r])),
        },
      });
    },
  };
};
