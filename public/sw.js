// Service worker: keeps the app shell and the benchmark sets for offline use.
// - navigations and /benchmarks/: network first, the cached copy when offline;
// - /assets/ (content-hashed by Vite): cache first;
// - models and videos are not cached here (the model loader has its own cache; clips are local).
const CACHE = 'seedbench-shell-v1';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(['./', './benchmarks/manifest.json']).catch(() => undefined))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
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
    const cached = await cache.match(cacheKey ?? request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
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
