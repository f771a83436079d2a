// Where the app runs from and what it keeps for offline use: registers the service worker
// (src/sw/sw.ts, through workbox-window), reloads once to become cross-origin isolated when the
// server sent no headers, and lists and removes what Cache Storage holds.
import type { StateCreator } from 'zustand';
import { Workbox } from 'workbox-window';
import { listCachedModels, removeCachedModel, type CachedModel } from '../model/index';
import type { LoadState } from './benchmarks';
import { isolationStep } from './isolation';
import type { ModelSlice } from './model';

/** Set in sessionStorage before the isolation reload, so that a tab never reloads twice. */
const RELOAD_KEY = 'seedbench-isolation-reload';
/** Workbox's precache, named in src/sw/sw.ts (setCacheNameDetails), suffixed with the scope. */
const PRECACHE_PREFIX = 'seedbench-precache';

export interface HostInfo {
  /** The folder URL the app runs from (its service worker's scope). */
  location: string;
  /** 'reload-needed': a model is loaded, so the isolation reload waits for the user. */
  isolation: 'isolated' | 'pending' | 'reload-needed' | 'unavailable';
  /** Why the page is not isolated (wasm then runs single-threaded); null when it is. */
  isolationProblem: string | null;
  worker: 'off' | 'starting' | 'active' | 'unavailable';
  workerProblem: string | null;
  /** A new version is installed and waits for this page to switch to it. */
  updateReady: boolean;
}

export interface CachedFile {
  /** Relative to the app's folder. */
  path: string;
  bytes: number;
}

export interface OfflineReport {
  /** The precached app shell and built assets (workers, ORT's wasm). */
  shell: CachedFile[];
  /** The precached benchmark set files (benchmarks/*.json). */
  sets: CachedFile[];
  models: CachedModel[];
}

export interface HostSlice {
  host: HostInfo;
  offline: LoadState<OfflineReport>;
  /** Once, at start-up; `serviceWorker` false in development (the dev server sends the headers). */
  startHost: (serviceWorker: boolean) => Promise<void>;
  refreshOffline: () => Promise<void>;
  uncacheModel: (base: string) => Promise<void>;
  /** Switch to the waiting new version (the page reloads when it takes over). */
  applyUpdate: () => void;
  reloadForIsolation: () => void;
}

let workbox: Workbox | null = null;

function reloadTried(): boolean {
  try {
    return sessionStorage.getItem(RELOAD_KEY) !== null;
  } catch {
    return true; // no sessionStorage: no way to stop a loop, so never reload
  }
}

function markReload(tried: boolean): void {
  try {
    if (tried) sessionStorage.setItem(RELOAD_KEY, new Date().toISOString());
    else sessionStorage.removeItem(RELOAD_KEY);
  } catch {
    // see reloadTried
  }
}

async function bytesOf(response: Response | undefined): Promise<number> {
  if (!response) return 0;
  return Number(response.headers.get('content-length')) || (await response.blob()).size;
}

async function precached(scope: string): Promise<{ shell: CachedFile[]; sets: CachedFile[] }> {
  const shell: CachedFile[] = [];
  const sets: CachedFile[] = [];
  if (typeof caches === 'undefined') return { shell, sets };
  for (const name of await caches.keys()) {
    if (!name.startsWith(PRECACHE_PREFIX) || !name.endsWith(scope)) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const url = new URL(request.url);
      url.searchParams.delete('__WB_REVISION__');
      const path = url.href.startsWith(scope) ? url.href.slice(scope.length) : url.href;
      const file = { path, bytes: await bytesOf(await cache.match(request)) };
      (path.startsWith('benchmarks/') ? sets : shell).push(file);
    }
  }
  const byPath = (a: CachedFile, b: CachedFile) => a.path.localeCompare(b.path);
  return { shell: shell.sort(byPath), sets: sets.sort(byPath) };
}

export const createHostSlice: StateCreator<HostSlice & ModelSlice, [], [], HostSlice> = (
  set,
  get,
) => {
  const setHost = (patch: Partial<HostInfo>) => set({ host: { ...get().host, ...patch } });
  const reload = () => {
    markReload(true);
    window.location.reload();
  };

  return {
    host: {
      location: '',
      isolation: 'pending',
      isolationProblem: null,
      worker: 'off',
      workerProblem: null,
      updateReady: false,
    },
    offline: { status: 'idle' },

    async startHost(serviceWorker) {
      const isolated = window.crossOriginIsolated;
      const tried = reloadTried();
      if (isolated) markReload(false);
      setHost({
        location: new URL('./', document.baseURI).href,
        isolation: isolated ? 'isolated' : 'pending',
      });
      const notIsolated = (problem: string) => {
        if (!isolated) setHost({ isolation: 'unavailable', isolationProblem: problem });
      };
      if (!serviceWorker) {
        notIsolated('the server sends no cross-origin isolation headers (development build)');
        return;
      }
      if (!('serviceWorker' in navigator)) {
        const why = window.isSecureContext
          ? 'this browser gives the page no service worker (a private window?)'
          : 'service workers need https:// or localhost';
        setHost({ worker: 'unavailable', workerProblem: why });
        notIsolated(why);
        return;
      }
      const wb = new Workbox('./sw.js', { scope: './' });
      workbox = wb;
      wb.addEventListener('waiting', () => setHost({ updateReady: true }));
      // A new version took over (after "Update"): its shell and assets belong together.
      wb.addEventListener('controlling', (e) => {
        if (e.isUpdate) window.location.reload();
      });
      void wb.active.then(() => setHost({ worker: 'active' }));
      // Installing fails when a file it precaches cannot be fetched (an incomplete upload).
      wb.addEventListener('redundant', () => {
        if (get().host.worker === 'active') return;
        const why = 'the service worker failed to install (is every file of dist/ uploaded?)';
        setHost({ worker: 'unavailable', workerProblem: why });
        notIsolated(why);
      });
      setHost({ worker: 'starting' });
      let registration: ServiceWorkerRegistration | undefined;
      let failure = 'refused';
      try {
        registration = await wb.register();
      } catch (e) {
        failure = e instanceof Error ? e.message : String(e);
      }
      if (!registration) {
        const why = `the service worker did not start (${failure})`;
        setHost({ worker: 'unavailable', workerProblem: why });
        notIsolated(why);
        return;
      }
      const active = registration;
      const step = () =>
        isolationStep({
          isolated,
          controlled: navigator.serviceWorker.controller !== null,
          workerActive: active.active !== null,
          reloadTried: tried,
        });
      if (step() === 'wait') await wb.controlling;
      const next = step();
      if (next === 'reload') {
        // Loading or running a model would be lost; the user reloads when it suits.
        if (get().modelStatus === 'none' || get().modelStatus === 'error') reload();
        else {
          setHost({
            isolation: 'reload-needed',
            isolationProblem: 'reload the page once to run wasm multithreaded',
          });
        }
      } else if (next === 'give-up') {
        notIsolated('the browser did not isolate the page although the service worker serves it');
      }
    },

    async refreshOffline() {
      if (get().offline.status !== 'ready') set({ offline: { status: 'loading' } });
      try {
        const scope = new URL('./', document.baseURI).href;
        const { shell, sets } = await precached(scope);
        const models = await listCachedModels();
        set({ offline: { status: 'ready', value: { shell, sets, models } } });
      } catch (e) {
        set({ offline: { status: 'error', message: e instanceof Error ? e.message : String(e) } });
      }
    },

    async uncacheModel(base) {
      await removeCachedModel(base);
      await get().refreshOffline();
    },

    applyUpdate() {
      workbox?.messageSkipWaiting();
    },

    reloadForIsolation: reload,
  };
};
