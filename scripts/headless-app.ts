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
import { errorMessage } from '../src/bench/index';
import type { Automation } from '../src/store/automation';
import { listFiles } from './list-files';

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

export interface ServeOptions {
  dist: string;
  /** Served at /cli-model/ (a model folder in the Hugging Face layout). */
  modelDir?: string | null;
  /** Served at /cli-videos/, with /cli-videos/index.json listing its files. */
  videosDir?: string | null;
  /** First port tried; the next ones up to portEnd when taken. */
  port?: number;
  portEnd?: number;
  /** Told about folder entries left out of a listing and about requests that failed. */
  log?: (message: string) => void;
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
  const log = opts.log ?? (() => undefined);
  const server = createServer((req, res) => {
    // Every response cross-origin isolated, as vite.config.ts does for dev and preview.
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-cache');
    // DNS rebinding: a page of another site whose name now points at 127.0.0.1 would send its
    // own Host; only this server's names are answered (as vite preview does for npm start).
    const port = req.socket.localPort;
    if (req.headers.host !== `127.0.0.1:${port}` && req.headers.host !== `localhost:${port}`) {
      res.statusCode = 403;
      res.end('forbidden: unknown Host');
      return;
    }
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
    try {
      if (listing && rel === 'index.json') {
        const files = listFiles(root, (e) => log(`${e.path}: ${e.reason}; left out`));
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ files }));
        return;
      }
      if (prefix === '/' && (rel === '' || rel.endsWith('/'))) rel += 'index.html';
      const file = normalize(join(root, rel));
      const st = file.startsWith(root + sep) && existsSync(file) ? statSync(file) : null;
      if (!st?.isFile()) {
        res.statusCode = 404;
        res.end(`not found: ${url}`);
        return;
      }
      res.setHeader(
        'Content-Type',
        TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      );
      res.setHeader('Content-Length', String(st.size));
      createReadStream(file)
        .on('error', (e) => {
          log(`${file}: ${e.message}`);
          res.destroy(e);
        })
        .pipe(res);
    } catch (e) {
      // A file that vanished or turned unreadable between the checks: this request fails, the
      // server (and the run) go on.
      log(`${url}: ${errorMessage(e)}`);
      res.statusCode = 500;
      res.end(errorMessage(e));
    }
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

/**
 * What keeps the CLI's Chromium on this machine: every host name but 127.0.0.1 and localhost
 * resolves to nothing inside Chromium (no DNS query leaves, no socket opens), except the hosts a
 * remote --model needs. Chromium's own Google services are switched off as well
 * (chromiumArgs; --disable-background-networking covers update, sync and safe browsing
 * fetches).
 */
export function privateChromiumArgs(allowHosts: readonly string[] = []): string[] {
  const rules = ['MAP * ~NOTFOUND', 'EXCLUDE 127.0.0.1', 'EXCLUDE localhost'];
  for (const h of allowHosts) rules.push(`EXCLUDE ${h}`);
  return [
    // Playwright's own --enable-features (dropped for chromiumArgs') holds the one that stops the
    // accounts.google.com lookups of every start.
    ...chromiumArgs.map((a) =>
      a.startsWith('--enable-features=') ? `${a},SkipListAccountsWithoutGaiaCookies` : a,
    ),
    `--host-resolver-rules=${rules.join(', ')}`,
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--no-pings',
  ];
}

/** The hosts a remote model is fetched from (its URL's, or the Hugging Face hub's and CDN's). */
export function modelHosts(source: { kind: 'url'; url: string } | { kind: 'hub'; id: string }) {
  if (source.kind === 'hub') return ['huggingface.co', '*.huggingface.co', '*.hf.co'];
  return /^https?:/.test(source.url) ? [new URL(source.url).hostname] : [];
}

/** Playwright's launch error in a few words: its first line, the browser's stderr, its exit. */
function launchFailure(e: unknown): string {
  const message = errorMessage(e);
  const first = (message.split('\n')[0] ?? '').replace(/^browserType\.launch: /, '');
  const stderr = [...new Set([...message.matchAll(/\[pid=\d+\]\[err\] (.*)/g)].map((m) => m[1]))];
  const exit = /<process did exit: (exitCode=\S+, signal=\S+)>/.exec(message)?.[1];
  return [first, ...stderr.slice(0, 3), ...(exit ? [`(${exit})`] : [])].join('; ');
}

export interface HeadlessApp {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

export interface OpenAppOptions {
  log?: ((m: string) => void) | undefined;
  /** Host names (patterns like *.hf.co allowed) Chromium may resolve beyond loopback. */
  allowHosts?: readonly string[];
}

/**
 * Headless Chromium (Debian's, the browser tests' flags plus privateChromiumArgs) on the app in
 * automation mode. Whatever fails, Chromium is closed before the error is thrown, so the caller
 * only has its own server to close.
 */
export async function openApp(origin: string, o: OpenAppOptions = {}): Promise<HeadlessApp> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath,
      args: privateChromiumArgs(o.allowHosts),
      ignoreDefaultArgs: ['--enable-features'],
    });
  } catch (e) {
    throw new Error(
      `Chromium did not start (${executablePath}; set CHROMIUM_PATH to another): ${launchFailure(e)}`,
      { cause: e },
    );
  }
  try {
    // No service worker: it would answer from its cache instead of the files being evaluated.
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    const { log } = o;
    if (log) {
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') log(`[page ${m.type()}] ${m.text()}`);
      });
      page.on('pageerror', (e) => log(`[page error] ${e.message}`));
    }
    const url = `${origin}/?automation=1&view=run`;
    const res = await page.goto(url);
    if (!res?.ok()) throw new Error(`HTTP ${res?.status() ?? '(no response)'} for ${url}`);
    await page.waitForFunction(() => 'seedbenchAutomation' in window, null, {
      timeout: 60_000,
    });
    return { browser, page, close: () => browser.close() };
  } catch (e) {
    await browser.close().catch(() => undefined);
    throw new Error(`the app did not open in Chromium: ${errorMessage(e)}`, { cause: e });
  }
}
