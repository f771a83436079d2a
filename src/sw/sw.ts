// The service worker (built by vite-plugin-pwa's injectManifest into sw.js beside index.html):
// - precaches the app shell, every built asset (workers, ORT's wasm and mjs) and the benchmark
//   sets, so after one visit the app loads with the network off;
// - adds the cross-origin isolation headers to the documents and worker scripts it serves, so a
//   static host that sends no headers still gets multithreaded wasm (the page reloads once when
//   this worker first takes control; see src/store/host.ts);
// - never touches the model loader's cache (seedbench-models-*, src/model/cache.ts).
import { clientsClaim, setCacheNameDetails, type WorkboxPlugin } from 'workbox-core';
import {
  addPlugins,
  cleanupOutdatedCaches,
  precacheAndRoute,
  PrecacheFallbackPlugin,
  type PrecacheEntry,
} from 'workbox-precaching';
import { registerRoute } from 'workbox-routing';
import { NetworkOnly } from 'workbox-strategies';

declare let self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | PrecacheEntry)[] };

// The page finds this cache by its prefix (src/store/host.ts lists what it holds).
setCacheNameDetails({ prefix: 'seedbench' });

const ISOLATION_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The same response with the isolation headers (opaque and redirect responses pass as they are). */
function isolated(response: Response): Response {
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) {
    return response;
  }
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) headers.set(name, value);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

const isolation: WorkboxPlugin = {
  handlerWillRespond: ({ response }) => Promise.resolve(isolated(response)),
};

// Navigations: network first, so a new deployment is seen at once; the precached shell when the
// network is off. Every app URL (?set=…&q=…) is the same page.
registerRoute(
  ({ request }) => request.mode === 'navigate',
  new NetworkOnly({
    plugins: [new PrecacheFallbackPlugin({ fallbackURL: 'index.html' }), isolation],
  }),
);

// Precached files: cache first (content-hashed names, or revisioned by the manifest).
addPlugins([isolation]);
precacheAndRoute(self.__WB_MANIFEST);

// A worker script the precache does not list (a new deployment's, before this worker updates)
// still needs the headers: a dedicated worker must match its page's embedder policy.
registerRoute(
  ({ request, url }) =>
    url.origin === self.location.origin &&
    (request.destination === 'worker' || request.destination === 'sharedworker'),
  new NetworkOnly({ plugins: [isolation] }),
);
// Everything else (model files, clips, hub downloads) goes to the network untouched: same-origin
// and CORS responses need no headers under require-corp, and the model loader caches by itself.

// Only outdated shell caches go: Workbox's own older precaches and the hand-written worker's.
cleanupOutdatedCaches();
self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith('seedbench-shell-')).map((k) => caches.delete(k)),
        ),
      ),
  );
});

// The first install takes over the open page at once (it reloads once to become isolated); an
// update waits until the page says so (the "Update" button in the offline panel).
clientsClaim();
self.addEventListener('message', (event: ExtendableMessageEvent) => {
  const data = event.data as { type?: unknown } | null;
  if (data?.type === 'SKIP_WAITING') void self.skipWaiting();
});
