import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { z } from 'zod';
import {
  errorMessage,
  runSettingsSchema,
  subsetSchema,
  type QuestionResult,
  type RunSettings,
} from '../bench/index';

/**
 * IndexedDB persistence (through idb): every finished question is written the moment it finishes,
 * keyed by the run key (bench/run-settings) and sample id, so a reload, crash or closed tab loses
 * nothing and a resumed run skips what is done. Only the store's runs slice and runner call this.
 */

const DB_NAME = 'seedbench-web';
const DB_VERSION = 1;

/** Everything structured-clonable that sets a run up again; folder handles are kept too. */
export interface ResumeInfo {
  setId: string | null;
  /** The model as it was asked for (a picked folder's handle included), or null: pick again. */
  model: { source: unknown; label: string; dtype: string; device: string } | null;
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

interface Schema extends DBSchema {
  runs: { key: string; value: unknown };
  results: { key: [string, string]; value: StoredResult; indexes: { runKey: string } };
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
  // Results stored before the prompt was recorded lack it: they say nothing about it.
  return all.map((r) => ({ ...r, modelPrompt: r.modelPrompt ?? null }));
}

export async function deleteRun(key: string): Promise<void> {
  const t = (await db()).transaction(['runs', 'results'], 'readwrite');
  await t.objectStore('runs').delete(key);
  const results = t.objectStore('results');
  for (const k of await results.index('runKey').getAllKeys(key)) await results.delete(k);
  await t.done;
}
