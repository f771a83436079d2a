import { spawnSync } from 'node:child_process';
import { appendFileSync, createReadStream, existsSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { addClips } from '../scripts/add-clips.ts';
import { fullPageShot } from './screenshot';

// The built app on a plain static host under a sub-path: `vite build` output (plus the demo clips
// from `npm run add-clips`) served under /sub/path/ by a file server that sends no headers beyond
// Content-Type and Content-Length, as GitHub Pages or a bucket would. The service worker must make
// the page cross-origin isolated (multithreaded wasm), the tiny model must run the 12 examples,
// an update must keep the model cache, and the app must reload with the network off.

const PORT = Number(process.env.PW_PORT ?? 4173) + 10;
const PREFIX = '/sub/path/';
const ORIGIN = `http://127.0.0.1:${PORT}`;
const APP = `${ORIGIN}${PREFIX}`;
const ROOT = resolve(`dist-static-${PORT}`);
const EXAMPLES = resolve(import.meta.dirname, '../../shared/seedbench/egoplan-bench2-examples');
const SHOTS = 'test-results/screenshots';
const SET = 'egoplan-bench2-examples-L3';
const TINY = `${APP}models/tiny-random-qwen2-vl/`;

// What a static host sends: a type per extension, nothing else.
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.wasm': 'application/wasm',
  '.mp4': 'video/mp4',
};

/** Every path a server was asked for, to prove that nothing is fetched outside the prefix. */
const requested: string[] = [];
const hubRequested: string[] = [];

function staticServer(root: string, log: string[], headers: Record<string, string> = {}): Server {
  return createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    log.push(path);
    let file = normalize(join(root, path));
    if (path.endsWith('/')) file = join(file, 'index.html');
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, headers).end();
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': String(statSync(file).size),
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
}

let server: Server;
let hub: Server;

test.beforeAll(() => {
  // One build with the default config (relative URLs), put where the host serves /sub/path/.
  rmSync(ROOT, { recursive: true, force: true });
  const app = join(ROOT, PREFIX);
  const built = spawnSync('npx', ['vite', 'build', '--outDir', app, '--emptyOutDir'], {
    encoding: 'utf8',
  });
  expect(built.status, built.stderr).toBe(0);
  expect(addClips(EXAMPLES, app)).toBe(13); // 12 clips + examples.jsonl
  server = staticServer(ROOT, requested);
  // Another origin that sends CORS headers only (no CORP), as huggingface.co and its CDN do.
  hub = staticServer(join(app, 'models'), hubRequested, { 'Access-Control-Allow-Origin': '*' });
  return Promise.all(
    [server.listen(PORT, '127.0.0.1'), hub.listen(PORT + 1, '127.0.0.1')].map(
      (s) => new Promise((done) => s.once('listening', done)),
    ),
  );
});

test.afterAll(() => {
  for (const s of [server, hub]) {
    s.closeAllConnections();
    s.close();
  }
});

async function loadTinyModel(page: Page): Promise<string> {
  const model = page.getByRole('group', { name: 'Model' });
  await model.getByLabel('device').selectOption('wasm');
  await model.getByLabel('dtype').selectOption('fp32');
  await model.getByRole('button', { name: 'Load model' }).click();
  const status = model.getByTestId('model-status');
  await expect(status).toContainText('on wasm', { timeout: 120_000 });
  return (await status.textContent()) ?? '';
}

const threadsIn = (status: string) => Number(/(\d+) threads/.exec(status)?.[1]);

async function cachedModelFiles(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const cache = await caches.open('seedbench-models-v1');
    return (await cache.keys()).map((r) => r.url);
  });
}

test('a plain static host under a sub-path: isolated by the service worker, runs, updates, works offline', async ({
  page,
  context,
}) => {
  let loads = 0;
  page.on('load', () => loads++);
  // First visit: the host sends no isolation headers, so the page starts without them …
  const first = await page.goto(`${APP}?view=run`);
  expect(first?.headers()['cross-origin-opener-policy']).toBeUndefined();
  expect(first?.headers()['cross-origin-embedder-policy']).toBeUndefined();
  // … and reloads once its service worker serves it with them.
  const isolation = page.getByTestId('isolation-status');
  await expect(isolation).toHaveText('cross-origin isolated: wasm runs multithreaded', {
    timeout: 120_000,
  });
  expect(
    await page.evaluate(async () => ({
      isolated: window.crossOriginIsolated,
      controlled: navigator.serviceWorker.controller !== null,
      scope: (await navigator.serviceWorker.ready).scope,
    })),
  ).toEqual({ isolated: true, controlled: true, scope: APP });
  expect(loads).toBe(2);
  await expect(page.getByTestId('host-summary')).toContainText(`Running from ${APP}`);

  // The built-in tiny model from models/ beside the page, with ORT's wasm threads (the count the
  // worker reads back from ORT after the session exists; ORT sets 1 without SharedArrayBuffer).
  const status = await loadTinyModel(page);
  expect(threadsIn(status)).toBeGreaterThan(1);
  expect(status).toContain('from network');

  // The 12 examples with the demo clips served beside the app.
  const bench = page.getByRole('group', { name: 'Benchmark' });
  await bench.getByLabel('Benchmark set').selectOption(SET);
  const videos = page.getByRole('group', { name: 'Videos' });
  await videos.getByRole('button', { name: 'Use the demo clips' }).click();
  await expect(page.getByTestId('media-summary')).toContainText(
    '12 of 12 questions have their files',
  );
  await page.getByRole('button', { name: /Start run/ }).click();
  await expect(page.getByTestId('run-status')).toHaveText('finished', { timeout: 600_000 });
  await expect(page.getByTestId('run-progress')).toContainText('12 / 12 done');
  await expect(page.getByTestId('run-progress')).not.toContainText('with errors');

  // Everything came from under the prefix: relative URLs for assets, workers, ORT, sets, model, clips.
  expect(requested.filter((p) => !p.startsWith(PREFIX))).toEqual([]);
  for (const p of [
    'sw.js',
    'benchmarks/manifest.json',
    'models/tiny-random-qwen2-vl/config.json',
    'demo-videos/index.json',
  ]) {
    expect(requested).toContain(`${PREFIX}${p}`);
  }
  expect(requested.some((p) => /^\/sub\/path\/assets\/ort-wasm.*\.wasm$/.test(p))).toBe(true);
  expect(requested.some((p) => p.startsWith(`${PREFIX}demo-videos/`) && p.endsWith('.mp4'))).toBe(
    true,
  );

  // What is saved for offline use.
  await page.getByText('Saved for offline use').click();
  await expect(page.getByTestId('offline-sets')).toContainText('3 of 3 set files');
  await expect(page.getByTestId('offline-shell')).not.toContainText('not saved');
  await expect(page.getByTestId('offline-models')).toContainText(TINY);
  // configs (config, generation, preprocessor: checked at load), tokenizer (2), and what the fast
  // engine reads: its manifest, its two graphs, the embedding they share (embed_tokens.onnx).
  await expect(page.getByTestId('offline-models')).toContainText('9 files');
  await fullPageShot(page, `${SHOTS}/static-host.png`);

  // A new deployment: the updated service worker waits, takes over on "Update", and its
  // activation leaves the model cache alone.
  const modelFiles = await cachedModelFiles(page);
  expect(modelFiles).toHaveLength(9);
  appendFileSync(join(ROOT, PREFIX, 'sw.js'), '\n// a new deployment\n');
  await page.evaluate(async () => (await navigator.serviceWorker.ready).update());
  await page.getByRole('button', { name: 'Update to the new version' }).click();
  await expect(page.getByRole('button', { name: 'Update to the new version' })).toHaveCount(0);
  await expect(isolation).toHaveText('cross-origin isolated: wasm runs multithreaded');
  expect(loads).toBe(3); // reloaded by the new worker taking over (workbox's isUpdate)
  expect((await cachedModelFiles(page)).sort()).toEqual(modelFiles.sort());

  // Offline: the page reloads from the service worker, still isolated, with its sets and model.
  await context.setOffline(true);
  await page.reload();
  await expect(isolation).toHaveText('cross-origin isolated: wasm runs multithreaded');
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  const offlineStatus = await loadTinyModel(page);
  expect(offlineStatus).toContain('9 files: 9 from cache');
  expect(threadsIn(offlineStatus)).toBeGreaterThan(1);
  await page
    .getByRole('group', { name: 'Benchmark' })
    .getByLabel('Benchmark set')
    .selectOption(SET);
  await page.getByRole('button', { name: 'Benchmarks', exact: true }).click();
  await expect(page.getByRole('article').getByTestId('sample-id')).not.toBeEmpty();

  // Removing the cached model empties its cache (the shell and sets stay).
  await page.getByText('Saved for offline use').click();
  await page.getByRole('button', { name: `Remove ${TINY} from the cache` }).click();
  await expect(page.getByTestId('offline-models')).toHaveText('none');
  expect(await cachedModelFiles(page)).toEqual([]);
  await expect(page.getByTestId('offline-sets')).toContainText('3 of 3 set files');
  await context.setOffline(false);

  // A model from another origin under COEP, as from the hub: CORS-mode fetches need no CORP.
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  const model = page.getByRole('group', { name: 'Model' });
  await model.getByRole('radio', { name: 'URL' }).check();
  await model.getByLabel('Model URL').fill(`http://127.0.0.1:${PORT + 1}/tiny-random-qwen2-vl`);
  const crossOrigin = await loadTinyModel(page);
  expect(crossOrigin).toMatch(/9 files: \d from network/);
  expect(threadsIn(crossOrigin)).toBeGreaterThan(1);
  expect(hubRequested).toContain('/tiny-random-qwen2-vl/onnx/decoder_fast.onnx');
});

test('where isolation is impossible the app says so, runs single-threaded and does not reload', async ({
  browser,
}) => {
  // No service worker (as in a browser that refuses one): no headers from anywhere.
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  let loads = 0;
  page.on('load', () => loads++);
  await page.goto(`${APP}?view=run`);
  await expect(page.getByTestId('isolation-status')).toContainText('not cross-origin isolated');
  await expect(page.getByTestId('isolation-status')).toContainText('wasm runs single-threaded');
  const status = await loadTinyModel(page);
  expect(threadsIn(status)).toBe(1);
  expect(loads).toBe(1);
  await context.close();
});
