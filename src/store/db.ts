import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { z } from 'zod';
import {
  errorMessage,
  runSettingsSchema,
  sampleSchema,
  subsetSchema,
  type QuestionResult,
  type RunSettings,
  type Sample,
} from '../bench/index';

/**
 * IndexedDB persistence (through idb): every finished question is written the moment it finishes,
 * keyed by the run key (bench/run-settings) and sample id, so a reload, crash or closed tab loses
 * nothing and a resumed run skips what is done. Only the store's runs slice and runner call this.
 */

const DB_NAME = 'seedbench-web';
// 2: the frames the model saw (thumbnails) and the questions of each run, so a stored run can be
// inspected after a restart without its set file or its clips.
const DB_VERSION = 2;

/** Everything structured-clonable that sets a run up again; folder handles are kept too. */
export interface ResumeInfo {
  setId: string | null;
  /** The model as it was asked for (a picked folder's handle included), or null: pick again. */
  model: {
    source: unknown;
    label: string;
    dtype: string;
    device: string;
    /** LoadSettings.q4Int8 as it took effect (as asked until loaded); absent in older runs ('off'). */
    q4Int8?: string;
  } | null;
  /** 'served' (the demo clips), a directory handle, or null (files must be picked again). */
  media: 'served' | FileSystemDirectoryHandle | null;
  mediaLabel: string | null;
}

export interface RunRecord {
  key: string;
  /**
   * The run's settings record. Null for runs stored before runs were identified by content
   * (model files, annotation records): they can be viewed and compared, not resumed.
   */
  settings: RunSettings | null;
  /** A short human name (kept for name-only runs, whose settings are not read back). */
  label: string;
  /** The questions of the run, in order (a subset keeps its own list). */
  sampleIds: string[];
  createdAt: string;
  updatedAt: string;
  status: 'running' | 'paused' | 'cancelled' | 'finished';
  /** Device the model last ran on. */
  device: string | null;
  resume: ResumeInfo | null;
}

export interface StoredResult extends QuestionResult {
  runKey: string;
  /** Device the question ran on. */
  device: string | null;
}

/** The frames a question's model got, as JPEG thumbnails (clip frames, then the still). */
export interface StoredFrames {
  runKey: string;
  sampleId: string;
  previews: Blob[];
  indices: number[] | null;
  timestampsS: number[] | null;
  stillFrom: 'image' | 'last-frame';
}

interface Schema extends DBSchema {
  runs: { key: string; value: unknown };
  results: { key: [string, string]; value: StoredResult; indexes: { runKey: string } };
  frames: { key: [string, string]; value: StoredFrames; indexes: { runKey: string } };
  questions: { key: string; value: { runKey: string; samples: unknown } };
}

const stored = z.object({
  key: z.string(),
  sampleIds: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  status: z.enum(['running', 'paused', 'cancelled', 'finished']),
  device: z.string().nullable(),
});
const current = stored.extend({
  settings: runSettingsSchema,
  label: z.string(),
  subset: subsetSchema.optional(),
  // Structured clones (directory handles included): checked for shape where they are used.
  resume: z.custom<ResumeInfo | null>((v) => v === null || typeof v === 'object').optional(),
});
// Runs stored before content identity: settings named the model and set only.
const nameOnly = stored.extend({
  settings: z.object({ benchmark: z.string(), model: z.string(), dtype: z.string() }),
});

/** A stored run record as the current code understands it, or why it cannot be read. */
export function readRunRecord(raw: unknown): RunRecord | string {
  const now = current.safeParse(raw);
  if (now.success) return { ...now.data, resume: now.data.resume ?? null };
  const old = nameOnly.safeParse(raw);
  if (old.success) {
    const s = old.data.settings;
    return {
      ...old.data,
      settings: null,
      label: `${s.benchmark} · ${s.model.split('/').pop() ?? s.model} · ${s.dtype} (identified by name only)`,
      resume: null,
    };
  }
  const issue = now.error.issues[0];
  return `stored run: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unreadable'}`;
}

let opening: Promise<IDBPDatabase<Schema>> | null = null;

function db(): Promise<IDBPDatabase<Schema>> {
  opening ??= openDB<Schema>(DB_NAME, DB_VERSION, {
    upgrade(d) {
      if (!d.objectStoreNames.contains('runs')) d.createObjectStore('runs', { keyPath: 'key' });
      if (!d.objectStoreNames.contains('results')) {
        const results = d.createObjectStore('results', { keyPath: ['runKey', 'sampleId'] });
        results.createIndex('runKey', 'runKey');
      }
      if (!d.objectStoreNames.contains('frames')) {
        const frames = d.createObjectStore('frames', { keyPath: ['runKey', 'sampleId'] });
        frames.createIndex('runKey', 'runKey');
      }
      if (!d.objectStoreNames.contains('questions'))
        d.createObjectStore('questions', { keyPath: 'runKey' });
    },
    blocked() {
      console.warn('the results database is blocked by another tab');
    },
  }).catch((e: unknown) => {
    opening = null;
    throw new Error(`cannot open the results database: ${errorMessage(e)}`);
  });
  return opening;
}

export async function saveRun(run: RunRecord): Promise<void> {
  await (await db()).put('runs', run);
}

export async function getRun(key: string): Promise<RunRecord | undefined> {
  const raw = await (await db()).get('runs', key);
  if (raw === undefined) return undefined;
  const r = readRunRecord(raw);
  return typeof r === 'string' ? undefined : r;
}

/** Every stored run that can be read, and a message per record that cannot. */
export async function listRuns(): Promise<{ runs: RunRecord[]; unreadable: string[] }> {
  const runs: RunRecord[] = [];
  const unreadable: string[] = [];
  for (const raw of await (await db()).getAll('runs')) {
    const r = readRunRecord(raw);
    if (typeof r === 'string') unreadable.push(r);
    else runs.push(r);
  }
  return { runs, unreadable };
}

/** Stores one finished question; resolves once it is durable. */
export async function saveResult(result: StoredResult): Promise<void> {
  await (await db()).put('results', result);
}

export async function loadResults(runKey: string): Promise<StoredResult[]> {
  const all = await (await db()).getAllFromIndex('results', 'runKey', runKey);
  // Results stored before the prompt (or the engine) was recorded lack it: they say nothing of it.
  return all.map((r) => ({ ...r, modelPrompt: r.modelPrompt ?? null, ranOn: r.ranOn ?? null }));
}

/** Keeps the thumbnails of the frames a question's model got (a few kB each). */
export async function saveFrames(frames: StoredFrames): Promise<void> {
  await (await db()).put('frames', frames);
}

export async function loadFrames(runKey: string, sampleId: string): Promise<StoredFrames | null> {
  return (await (await db()).get('frames', [runKey, sampleId])) ?? null;
}

/** The questions of a run, kept with it (a dropped annotation file is gone after a restart). */
export async function saveQuestions(runKey: string, samples: readonly Sample[]): Promise<void> {
  await (await db()).put('questions', { runKey, samples: [...samples] });
}

const storedQuestions = z.array(sampleSchema);

/** A run's stored questions; null when none were stored (runs of older versions). */
export async function loadQuestions(runKey: string): Promise<Sample[] | null> {
  const raw = await (await db()).get('questions', runKey);
  if (!raw) return null;
  const parsed = storedQuestions.safeParse(raw.samples);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(
    `the stored questions of ${runKey} are unreadable (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown field'})`,
  );
}

export async function deleteRun(key: string): Promise<void> {
  const t = (await db()).transaction(['runs', 'results', 'frames', 'questions'], 'readwrite');
  await t.objectStore('runs').delete(key);
  await t.objectStore('questions').delete(key);
  for (const name of ['results', 'frames'] as const) {
    const store = t.objectStore(name);
    for (const k of await store.index('runKey').getAllKeys(key)) await store.delete(k);
  }
  await t.done;
}
