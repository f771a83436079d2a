import { cpSync, createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Connect, Plugin } from 'vite';
import { listFiles } from './list-files.ts';

/**
 * Serves two local folders to the app, in dev and preview alike, so the default set-up works
 * offline with nothing to pick:
 * - `/models/...` from `models/` (the committed tiny test model and any model you export there);
 *   the build also copies the tiny model into the output, so a deployed app carries it.
 * - `/demo-videos/...` from `../shared/seedbench/egoplan-bench2-examples` when it exists (the 12
 *   real example clips), plus `/demo-videos/index.json` listing its files. Never copied into builds
 *   (a static host gets them from `npm run add-clips`, scripts/add-clips.ts).
 */
const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.onnx_data': 'application/octet-stream',
  '.mp4': 'video/mp4',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jsonl': 'application/x-ndjson',
  '.txt': 'text/plain',
};

function serveFolder(urlPrefix: string, dir: string, listing: boolean): Connect.NextHandleFunction {
  const root = resolve(dir);
  return (req, res, next) => {
    let url: string;
    try {
      url = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
    } catch {
      // A malformed escape (%E0%A4%A) is the client's error, not the server's (was a 500).
      res.statusCode = 400;
      res.end('bad URL');
      return;
    }
    if (!url.startsWith(urlPrefix) || !existsSync(root)) {
      next();
      return;
    }
    const rel = url.slice(urlPrefix.length);
    if (listing && rel === 'index.json') {
      res.setHeader('Content-Type', 'application/json');
      const files = listFiles(root, (e) => console.warn(`${e.path}: ${e.reason}; left out`));
      res.end(JSON.stringify({ files }));
      return;
    }
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end(`not found: ${url}`);
      return;
    }
    const size = statSync(file).size;
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(size));
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-cache');
    createReadStream(file).pipe(res);
  };
}

export function localAssets(options: { models: string; demoVideos: string }): Plugin {
  let outDir = 'dist';
  const install = (server: { middlewares: Connect.Server }) => {
    server.middlewares.use(serveFolder('/demo-videos/', options.demoVideos, true));
    server.middlewares.use(serveFolder('/models/', options.models, false));
  };
  return {
    name: 'seedbench-local-assets',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer: install,
    configurePreviewServer: install,
    closeBundle() {
      // Only the tiny test model ships with a build; bigger local exports stay served from disk.
      const tiny = join(options.models, 'tiny-random-qwen2-vl');
      if (existsSync(tiny)) {
        cpSync(tiny, join(outDir, 'models', 'tiny-random-qwen2-vl'), { recursive: true });
      }
    },
  };
}
