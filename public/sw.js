// Service worker: keeps the app shell and the benchmark sets for offline use.
// - navigations and /benchmarks/: network first, the cached copy when offline;
// - /assets/ (content-hashed by Vite): cache first;
// - models and videos are not cached here (the model loader has its own cache; clips are local).
const CACHE = 'seedbench-shell-v1';

// The benchmark sets listed in the manifest are small (L1 is 2.5 MB): keep them all.
async function precache() {
  const cache = await caches.open(CACHE);
  // The shell and the entry chunks it names (later chunks pass through the fetch handler).
  const shell = await fetch('./').catch(() => null);
  if (shell && shell.ok) {
    const html = await shell.clone().text();
    await cache.put('./', shell);
    const entry = [...html.matchAll(/(?:src|href)="([^"]*\/assets\/[^"]+)"/g)].map((m) => m[1]);
    await Promise.all(entry.map((a) => cache.add(a).catch(() => undefined)));
  }
  // Every other emitted chunk: workers, the ORT wasm runtime (written by the build).
  const list = await fetch('./asset-list.json').catch(() => null);
  if (list && list.ok) {
    const files = await list.json();
    await Promise.all(files.map((f) => cache.add(`./${f}`).catch(() => undefined)));
  }
  const res = await fetch('./benchmarks/manifest.json').catch(() => null);
  if (!res || !res.ok) return;
  await cache.put('./benchmarks/manifest.json', res.clone());
  const manifest = await res.json();
  await Promise.all(
    manifest.sets.map((s) => cache.add(`./benchmarks/${s.file}`).catch(() => undefined)),
  );
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

// Only older shell caches go: the model loader keeps its own cache (seedbench-models-*).
self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((k) => k.startsWith('seedbench-shell-') && k !== CACHE)
            .map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request, cacheKey) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(cacheKey ?? request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(cacheKey ?? request, { ignoreSearch: true, ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  // Vite sends "Vary: Origin"; module scripts carry an Origin header the precache request lacked.
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope).pathname;
  const path = url.pathname.slice(scope.length - 1);
  if (request.mode === 'navigate') {
    // Every app URL (?set=…&q=…) is the same shell.
    event.respondWith(networkFirst(request, new URL('./', self.registration.scope).href));
  } else if (path.startsWith('/assets/')) {
    event.respondWith(cacheFirst(request));
  } else if (path.startsWith('/benchmarks/') || path === '/sw.js') {
    event.respondWith(networkFirst(request));
  }
});
