import type { QuestionResult } from '../bench/index';

/**
 * IndexedDB persistence: every finished question is written the moment it finishes, keyed by the
 * run key (model + settings) and sample id, so a reload, crash or closed tab loses nothing and a
 * resumed run skips what is done.
 */

const DB_NAME = 'seedbench-web';
const DB_VERSION = 1;
const RUNS = 'runs';
const RESULTS = 'results';

/** What identifies a run's results: everything that can change an answer. */
export interface RunSettings {
  /** Model label: hub id, URL or folder name. */
  model: string;
  dtype: string;
  scoring: { official: boolean; letters: boolean; likelihood: boolean };
  wording: 'as-is' | 'seed-bench-r1';
  maxNewTokens: number;
  /** Clip frame values after the resize (absent on older records: 'uint8'). */
  clipValues?: 'uint8' | 'float';
  /** Benchmark set id (or the dropped file's name). */
  benchmark: string;
}

export interface RunRecord {
  key: string;
  settings: RunSettings;
  /** The questions of the run, in order (a subset keeps its own list). */
  sampleIds: string[];
  createdAt: string;
  updatedAt: string;
  status: 'running' | 'paused' | 'cancelled' | 'finished';
  /** Device the model last ran on. */
  device: string | null;
  /** How the run was sampled, for the record. */
  subset: string;
  /** What "Resume" needs to set the run up again after a reload (absent on older records). */
  resume?: ResumeInfo;
}

/** Everything structured-clonable that restores a run's setup; folder handles are kept too. */
export interface ResumeInfo {
  setId: string | null;
  config: {
    clipValues?: 'uint8' | 'float';
    scoring: RunSettings['scoring'];
    wording: RunSettings['wording'];
    maxNewTokens: number;
    subset: unknown;
  };
  model: {
    source: unknown;
    label: string;
    dtype: string;
    device: string;
  } | null;
  /** 'served' (the demo clips), a directory handle, or null (files must be picked again). */
  media: 'served' | FileSystemDirectoryHandle | null;
  mediaLabel: string | null;
}

export interface StoredResult extends QuestionResult {
  runKey: string;
  /** Device the question ran on. */
  device: string | null;
}

/** The run key: the same settings resume the same results. */
export function runKeyOf(s: RunSettings): string {
  const scoring = (['official', 'letters', 'likelihood'] as const).filter((k) => s.scoring[k]);
  const parts = [
    s.benchmark,
    s.model,
    s.dtype,
    scoring.join('+'),
    s.wording,
    `max${s.maxNewTokens}`,
  ];
  // 'uint8' is the default and older keys lack it, so only the non-default value is named.
  if (s.clipValues === 'float') parts.push('float-frames');
  return parts.join(' | ');
}

let opening: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(RUNS)) db.createObjectStore(RUNS, { keyPath: 'key' });
      if (!db.objectStoreNames.contains(RESULTS)) {
        const results = db.createObjectStore(RESULTS, { keyPath: ['runKey', 'sampleId'] });
        results.createIndex('runKey', 'runKey');
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () =>
      reject(new Error(`cannot open the results database: ${req.error?.message}`));
    req.onblocked = () => reject(new Error('the results database is blocked by another tab'));
  });
  return opening;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

async function tx<T>(
  stores: string[],
  mode: IDBTransactionMode,
  body: (t: IDBTransaction) => Promise<T>,
): Promise<T> {
  const db = await open();
  const t = db.transaction(stores, mode);
  const done = new Promise<void>((resolve, reject) => {
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error ?? new Error('IndexedDB transaction failed'));
    t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction aborted'));
  });
  const value = await body(t);
  await done;
  return value;
}

export function saveRun(run: RunRecord): Promise<void> {
  return tx([RUNS], 'readwrite', async (t) => {
    await request(t.objectStore(RUNS).put(run));
  });
}

export function getRun(key: string): Promise<RunRecord | undefined> {
  return tx([RUNS], 'readonly', (t) =>
    request(t.objectStore(RUNS).get(key) as IDBRequest<RunRecord>),
  );
}

export function listRuns(): Promise<RunRecord[]> {
  return tx([RUNS], 'readonly', (t) =>
    request(t.objectStore(RUNS).getAll() as IDBRequest<RunRecord[]>),
  );
}

/** Stores one finished question; resolves once it is durable. */
export function saveResult(result: StoredResult): Promise<void> {
  return tx([RESULTS], 'readwrite', async (t) => {
    await request(t.objectStore(RESULTS).put(result));
  });
}

export function loadResults(runKey: string): Promise<StoredResult[]> {
  return tx([RESULTS], 'readonly', (t) =>
    request(
      t.objectStore(RESULTS).index('runKey').getAll(IDBKeyRange.only(runKey)) as IDBRequest<
        StoredResult[]
      >,
    ),
  );
}

export function deleteRun(key: string): Promise<void> {
  return tx([RUNS, RESULTS], 'readwrite', async (t) => {
    await request(t.objectStore(RUNS).delete(key));
    const keys = await request(
      t.objectStore(RESULTS).index('runKey').getAllKeys(IDBKeyRange.only(key)),
    );
    for (const k of keys) await request(t.objectStore(RESULTS).delete(k));
  });
}
