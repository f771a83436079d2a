// The built app in headless Chromium, for npm run eval and npm run bench: builds dist-cli/ when a
// source is newer, serves it from a small HTTP server with the cross-origin isolation headers
// (multithreaded wasm needs them), plus /cli-model/ and /cli-videos/ from local folders, and opens
// the app with ?automation=1 so window.seedbenchAutomation drives the same store a user does.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { chromiumArgs } from '../playwright.config';
import type { Automation } from '../src/store/automation';

declare global {
  interface Window {
    /** The page side (src/store/automation.ts), registered with ?automation=1. */
    seedbenchAutomation: Automation;
  }
}

export const repoRoot = resolve(import.meta.dirname, '..');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.mp4': 'video/mp4',
  '.svg': 'image/svg+xml',
};

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Builds the app into `outDir` unless the build there is newer than every input. */
export function ensureBuild(outDir = 'dist-cli', log: (m: string) => void = console.error): string {
  const dir = resolve(repoRoot, outDir);
  const stamp = join(dir, '.cli-build-stamp');
  const inputs = [
    'src',
    'index.html',
    'public',
    'e2e/harness',
    'vite.config.ts',
    'scripts/vite-local-assets.ts',
    'package-lock.json',
  ];
  const newest = Math.max(...inputs.map((p) => newestMtime(resolve(repoRoot, p))));
  if (existsSync(stamp) && statSync(stamp).mtimeMs > newest) return dir;
  log(`building the app into ${outDir}/ …`);
  const r = spawnSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
  writeFileSync(stamp, new Date().toISOString());
  return dir;
}

/** Every file under `dir`, relative, '/'-separated (dot entries skipped). */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

export interface ServeOptions {
  dist: string;
  /** Served at /cli-model/ (a model folder in the Hugging Face layout). */
  modelDir?: string | null;
  /** Served at /cli-videos/, with /cli-videos/index.json listing its files. */
  videosDir?: string | null;
  /** First port tried; the next ones up to portEnd when taken. */
  port?: number;
  portEnd?: number;
}

export interface Served {
  server: Server;
  origin: string;
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions): Promise<Served> {
  const mounts: [string, string, boolean][] = [];
  if (opts.modelDir) mounts.push(['/cli-model/', resolve(opts.modelDir), false]);
  if (opts.videosDir) mounts.push(['/cli-videos/', resolve(opts.videosDir), true]);
  mounts.push(['/', resolve(opts.dist), false]);
  const server = createServer((req, res) => {
    // Every response cross-origin isolated, as vite.config.ts does for dev and preview.
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-cache');
    let url: string;
    try {
      url = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    } catch {
      res.statusCode = 400;
      res.end('bad URL');
      return;
    }
    const mount = mounts.find(([prefix]) => url.startsWith(prefix));
    if (!mount) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const [prefix, root, listing] = mount;
    let rel = url.slice(prefix.length);
    if (listing && rel === 'index.json') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ files: listFiles(root) }));
      return;
    }
    if (prefix === '/' && (rel === '' || rel.endsWith('/'))) rel += 'index.html';
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end(`not found: ${url}`);
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    createReadStream(file).pipe(res);
  });
  const first = opts.port ?? 4300;
  const last = opts.portEnd ?? 4399;
  for (let port = first; port <= last; port++) {
    const ok = await new Promise<boolean>((done) => {
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => done(true));
    });
    if (ok) {
      const { port: bound } = server.address() as AddressInfo;
      return {
        server,
        origin: `http://127.0.0.1:${bound}`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections(); // keep-alive sockets would hold close() open
          }),
      };
    }
  }
  throw new Error(`no free port in ${first}-${last}`);
}

export interface HeadlessApp {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/** Headless Chromium (Debian's, same flags as the browser tests) on the app in automation mode. */
export async function openApp(origin: string, log?: (m: string) => void): Promise<HeadlessApp> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: chromiumArgs,
    ignoreDefaultArgs: ['--enable-features'],
  });
  // No service worker: it would answer from its cache instead of the files being evaluated.
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  if (log) {
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log(`[page ${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => log(`[page error] ${e.message}`));
  }
  await page.goto(`${origin}/?automation=1&view=run`);
  await page.waitForFunction(() => 'seedbenchAutomation' in window, null, {
    timeout: 60_000,
  });
  return { browser, page, close: () => browser.close() };
}
