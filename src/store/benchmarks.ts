import type { StateCreator } from 'zustand';
import type { z } from 'zod';
import {
  benchmarkManifestSchema,
  benchmarkSetFileSchema,
  errorMessage,
  formatRecordError,
  parseBenchmarkFile,
  readJsonFile,
  samplesDigest,
  type BenchmarkIdentity,
  type BenchmarkManifest,
  type Sample,
} from '../bench/index';

export type LoadState<T> =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'ready'; value: T }
  | { status: 'error'; message: string };

/** What to do when the build has no benchmark sets (the app still runs: a file, the tiny model). */
export const GET_SETS_HINT =
  'get them with "npm run fetch-benchmarks" (online) or "npm run fetch-benchmarks -- --from DIR" (a folder of annotation files), then run "npm start" again';

export interface BenchmarksSlice {
  manifest: LoadState<BenchmarkManifest>;
  /** The build has no benchmarks/manifest.json (a clone without ../shared, sets not fetched). */
  manifestMissing: boolean;
  /** The set being browsed and its questions. */
  setId: string | null;
  samples: LoadState<Sample[]>;
  /** The loaded set or file by content (all its questions): part of a run's identity. */
  benchmarkIdentity: BenchmarkIdentity | null;
  /** The question shown in the browser (index into samples). */
  questionIndex: number;
  loadManifest: () => Promise<void>;
  selectSet: (id: string) => Promise<void>;
  selectQuestion: (index: number) => void;
  /** Messages about a dropped annotation file (invalid records, by file and line). */
  droppedReport: string[];
  /** 'bad': the file was not read; 'warn': records were skipped; 'ok': all read. */
  droppedTone: 'ok' | 'warn' | 'bad';
  /**
   * Reads an annotation file the user dropped or picked (its bytes, so that invalid UTF-8 is
   * reported by line); its questions become the current set.
   */
  loadDroppedFile: (name: string, content: string | Uint8Array) => void;
}

const BENCHMARKS_URL = `${import.meta.env.BASE_URL}benchmarks/`;

/** Not there: a 404, or the HTML page a single-page host or the service worker answers instead. */
class MissingFile extends Error {}

async function fetchJson<T>(url: string, schema: z.ZodType<T>): Promise<T> {
  const res = await fetch(url);
  const type = res.headers.get('content-type') ?? '';
  if (res.status === 404 || (res.ok && type.includes('text/html'))) {
    throw new MissingFile(`${url} is not in this build`);
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return readJsonFile(url, await res.text(), schema);
}

function identityOf(id: string, samples: readonly Sample[]): BenchmarkIdentity {
  return { id, questions: samples.length, digest: samplesDigest(samples) };
}

export const createBenchmarksSlice: StateCreator<BenchmarksSlice> = (set, get) => ({
  manifest: { status: 'idle' },
  manifestMissing: false,
  setId: null,
  samples: { status: 'idle' },
  benchmarkIdentity: null,
  questionIndex: 0,
  droppedReport: [],
  droppedTone: 'ok',

  loadDroppedFile(name, content) {
    try {
      const parsed = parseBenchmarkFile(name, content);
      const report = parsed.errors.map(formatRecordError);
      report.unshift(
        `${name}: ${parsed.samples.length} of ${parsed.total} questions read as ${parsed.format}` +
          (parsed.errors.length > 0 ? `, ${parsed.errors.length} skipped:` : ''),
      );
      set({
        setId: `file:${name}`,
        samples: { status: 'ready', value: parsed.samples },
        benchmarkIdentity: identityOf(name, parsed.samples),
        questionIndex: 0,
        droppedReport: report,
        droppedTone: parsed.errors.length > 0 ? 'warn' : 'ok',
      });
    } catch (e) {
      set({ droppedReport: [errorMessage(e)], droppedTone: 'bad' });
    }
  },

  async loadManifest() {
    set({ manifest: { status: 'loading' }, manifestMissing: false });
    try {
      const value = await fetchJson(`${BENCHMARKS_URL}manifest.json`, benchmarkManifestSchema);
      set({ manifest: { status: 'ready', value } });
    } catch (e) {
      const missing = e instanceof MissingFile;
      set({
        manifestMissing: missing,
        manifest: {
          status: 'error',
          message: missing
            ? `This build has no benchmark sets: ${GET_SETS_HINT}.`
            : `The benchmark sets could not be read (${errorMessage(e)}); to build them again, ${GET_SETS_HINT}.`,
        },
      });
    }
  },

  async selectSet(id) {
    const manifest = get().manifest;
    const info = manifest.status === 'ready' ? manifest.value.sets.find((s) => s.id === id) : null;
    if (!info) {
      set({
        setId: id,
        samples: { status: 'error', message: `Unknown benchmark set "${id}".` },
        benchmarkIdentity: null,
        droppedReport: [],
      });
      return;
    }
    set({
      setId: id,
      samples: { status: 'loading' },
      benchmarkIdentity: null,
      questionIndex: 0,
      // A message about a dropped file is about that file, not the set now chosen.
      droppedReport: [],
    });
    try {
      const file = await fetchJson(`${BENCHMARKS_URL}${info.file}`, benchmarkSetFileSchema);
      if (get().setId === id)
        set({
          samples: { status: 'ready', value: file.samples },
          benchmarkIdentity: identityOf(id, file.samples),
        });
    } catch (e) {
      if (get().setId === id) set({ samples: { status: 'error', message: errorMessage(e) } });
    }
  },

  selectQuestion(index) {
    const samples = get().samples;
    const count = samples.status === 'ready' ? samples.value.length : 0;
    if (count === 0) return;
    set({ questionIndex: Math.min(count - 1, Math.max(0, index)) });
  },
});
