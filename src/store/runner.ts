/**
 * The question path of a run: frames (store/prepare.ts, the video worker), the model (the model
 * worker, given the run's QuestionOptions whole), scoring (bench makeResult), and the store
 * (IndexedDB at once, then the app state). One question at a time, the next clip decoding while
 * the model works.
 */
import {
  errorMessage,
  makeResult,
  outputsWithout,
  type ModelOutputs,
  type QuestionOptions,
  type RunSettings,
  type Sample,
} from '../bench/index';
import type { ModelAnswer } from '../model/index';
import { getRun, saveResult, saveRun, type StoredResult } from './db';
import { keepFrames } from './frames';
import type { AppGet, AppSet } from './index';
import { modelClient } from './model';
import { prepareQuestion, type Prepared } from './prepare';

let controller: AbortController | null = null;
let resumeWaiter: (() => void) | null = null;

/** Cancels the run in progress (the model stops between tokens) and wakes a paused one. */
export function cancelQuestions(): void {
  controller?.abort();
  wakeQuestions();
}

/** Lets a paused run go on. */
export function wakeQuestions(): void {
  resumeWaiter?.();
  resumeWaiter = null;
}

function numericTimings(t: ModelAnswer['timings']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(t)) if (typeof v === 'number') out[k] = v;
  return out;
}

async function answer(
  get: AppGet,
  set: AppSet,
  sample: Sample,
  prepared: Prepared,
  options: QuestionOptions,
  signal: AbortSignal,
): Promise<ModelOutputs> {
  if (!prepared.ok) return outputsWithout({ stage: prepared.stage, message: prepared.message });
  const model = modelClient();
  if (!model || get().modelStatus !== 'ready') {
    return outputsWithout({ stage: 'model', message: 'no model loaded' });
  }
  const started = performance.now();
  const live = get().live;
  set({
    live: {
      sampleId: sample.sampleId,
      stage: 'model',
      text: '',
      tokens: 0,
      maxTokens: options.maxNewTokens,
      // The question's clock started with its frames (runOne), so the ETA counts them too.
      startedAt: live?.sampleId === sample.sampleId ? live.startedAt : started,
      firstTokenAt: null,
      lastTokenAt: null,
    },
  });
  try {
    const r = await model.run(sample, prepared.visuals, options, {
      signal,
      transfer: true,
      onToken: (text) => {
        const live = get().live;
        const now = performance.now();
        if (live?.sampleId === sample.sampleId)
          set({
            live: {
              ...live,
              text,
              tokens: live.tokens + 1,
              firstTokenAt: live.firstTokenAt ?? now,
              lastTokenAt: now,
            },
          });
      },
    });
    if (r.timings.decodeTokensPerS !== null) set({ tokensPerS: r.timings.decodeTokensPerS });
    const letters = r.letterLogprobs;
    const nll = r.choiceNll;
    return {
      response: options.scoring.official ? r.response : null,
      modelPrompt: r.prompt,
      letterLogprobs: letters ? [letters.A, letters.B, letters.C, letters.D] : null,
      choiceNll: nll ? [nll.A, nll.B, nll.C, nll.D] : null,
      frameIndices: prepared.indices,
      timings: { ...prepared.timings, ...numericTimings(r.timings) },
      error: r.stopReason === 'cancelled' ? { stage: 'model', message: 'cancelled' } : null,
      // What ran this question, as the model reports it (not what the load asked for).
      ranOn: {
        device: r.device,
        dtype: r.dtype,
        engine: r.engine,
        family: r.family,
        ...(r.videoTime ? { secondPerGridTs: r.videoTime.secondPerGridTs } : {}),
      },
    };
  } catch (e) {
    return outputsWithout(
      { stage: 'model', message: errorMessage(e) },
      { frameIndices: prepared.indices },
    );
  }
}

/** One question: frames, model, score, store. Null when the run was cancelled meanwhile. */
async function runOne(
  get: AppGet,
  set: AppSet,
  settings: RunSettings,
  options: QuestionOptions,
  sample: Sample,
  preparing: Promise<Prepared>,
  signal: AbortSignal,
  /** Where the stored result goes instead of the current run's results (a spot check). */
  onStored?: (result: StoredResult) => void,
): Promise<StoredResult | null> {
  const started = performance.now();
  set({
    live: {
      sampleId: sample.sampleId,
      stage: 'frames',
      text: '',
      tokens: 0,
      maxTokens: options.maxNewTokens,
      startedAt: started,
      firstTokenAt: null,
      lastTokenAt: null,
    },
  });
  const prepared = await preparing;
  // Stored with the run (IndexedDB) while the model works: the frames outlive this session.
  const kept = keepFrames(get, set, settings.key, sample.sampleId, prepared);
  const outputs = await answer(get, set, sample, prepared, options, signal);
  if (signal.aborted && outputs.error?.message === 'cancelled') return null;
  const stored: StoredResult = {
    ...makeResult(sample, outputs),
    runKey: settings.key,
    device: outputs.ranOn?.device ?? get().modelInfo?.device ?? null,
  };
  stored.timings.totalMs = performance.now() - started;
  await Promise.all([saveResult(stored), kept]);
  if (onStored) onStored(stored);
  else
    set({
      results: { ...get().results, [sample.sampleId]: stored },
      sessionDurationsMs: [...get().sessionDurationsMs, performance.now() - started],
    });
  return stored;
}

/**
 * Runs `todo` under `settings` (the run's record, already stored). The options object the model
 * gets is built here once (bench questionOptions via the caller) and never rebuilt per hop.
 */
export async function runQuestions(
  get: AppGet,
  set: AppSet,
  settings: RunSettings,
  options: QuestionOptions,
  todo: readonly Sample[],
): Promise<void> {
  controller = new AbortController();
  const signal = controller.signal;
  const notice = (m: string) => set({ runNotices: [...get().runNotices.slice(-49), m] });
  const media = get().media;
  const prepare = (s: Sample) => prepareQuestion(s, media, settings.clipValues);
  let next: Promise<Prepared> | null = todo[0] ? prepare(todo[0]) : null;
  let sameErrors = 0;
  let lastError = '';
  for (const [i, sample] of todo.entries()) {
    if (get().runStatus === 'pausing' || get().runStatus === 'paused') {
      set({ runStatus: 'paused', live: null });
      await new Promise<void>((r) => (resumeWaiter = r));
    }
    if (signal.aborted || !next) break;
    const current = next;
    // Prefetch the next clip while the model works on this one.
    const following = todo[i + 1];
    next = following ? prepare(following) : null;
    const stored = await runOne(get, set, settings, options, sample, current, signal);
    if (!stored) break;
    if (stored.error) {
      notice(`${sample.sampleId}: ${stored.error.stage} — ${stored.error.message}`);
      // A model that fails every question (GPU gone, worker dead) would burn the whole level.
      const msg = stored.error.stage === 'model' ? stored.error.message : '';
      sameErrors = msg && msg === lastError ? sameErrors + 1 : msg ? 1 : 0;
      lastError = msg;
      if (sameErrors >= 3) {
        notice(`Paused after 3 model errors in a row: ${msg}`);
        set({ runStatus: 'pausing' });
      }
    } else {
      sameErrors = 0;
      lastError = '';
    }
  }
  const aborted = signal.aborted;
  set({ runStatus: aborted ? 'cancelled' : 'finished', live: null });
  const record = await getRun(settings.key);
  if (record)
    await saveRun({
      ...record,
      status: aborted ? 'cancelled' : 'finished',
      updatedAt: new Date().toISOString(),
    });
}

/**
 * One question of a run again, live (the Inspector's "Run again"), under the run's settings; a
 * spot check (Benchmarks view, presentation) passes `onStored` to take the result itself.
 */
export async function runQuestionAgain(
  get: AppGet,
  set: AppSet,
  settings: RunSettings,
  options: QuestionOptions,
  sample: Sample,
  onStored?: (result: StoredResult) => void,
): Promise<StoredResult | null> {
  controller = new AbortController();
  const preparing = prepareQuestion(sample, get().media, settings.clipValues);
  const stored = await runOne(
    get,
    set,
    settings,
    options,
    sample,
    preparing,
    controller.signal,
    onStored,
  );
  set({ live: null });
  return stored;
}
