import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';
import { localAssets } from './scripts/vite-local-assets.ts';
import { ortEpOptions } from './scripts/vite-ort-ep-options.ts';

// Multithreaded wasm (onnxruntime-web) needs SharedArrayBuffer, which needs cross-origin
// isolation on every response, dev server and preview alike.
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

// Browser tests and benchmark scripts drive small pages in e2e/harness/*.html that load the
// real src/ modules; they are built beside the app so tests run against production bundles.
const harnessDir = resolve(import.meta.dirname, 'e2e/harness');
const harnessPages = Object.fromEntries(
  readdirSync(harnessDir)
    .filter((f) => f.endsWith('.html'))
    .map((f) => [`harness-${f.replace(/\.html$/, '')}`, resolve(harnessDir, f)]),
);

export default defineConfig({
  // Relative URLs everywhere: one build works from any static host under any path (`--base /x/`
  // pins an absolute one instead).
  base: './',
  plugins: [
    ortEpOptions(),
    react(),
    localAssets({
      models: resolve(import.meta.dirname, 'models'),
      demoVideos: resolve(import.meta.dirname, '../shared/seedbench/egoplan-bench2-examples'),
    }),
    // src/sw/sw.ts: precache + the isolation headers a plain static host does not send. The page
    // registers it itself (src/store/host.ts), so that it can reload once to become isolated.
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src/sw',
      filename: 'sw.ts',
      injectRegister: false,
      manifest: false,
      injectManifest: {
        // A classic script: module service workers are not everywhere yet.
        rollupFormat: 'iife',
        globPatterns: ['index.html', 'assets/**/*.{js,mjs,css,wasm}', 'benchmarks/*.json'],
        // Test pages and the tiny model (the model loader caches models itself) stay out.
        globIgnores: ['e2e/**', 'models/**', 'assets/harness-*'],
        // ORT's wasm is 27 MB; the largest set file 2.5 MB.
        maximumFileSizeToCacheInBytes: 64 * 2 ** 20,
      },
    }),
  ],
  server: { headers: isolationHeaders, fs: { allow: ['.', '../shared'] } },
  // npm start serves on 4173, or on $PORT (a second copy side by side, the fresh-clone test).
  preview: { headers: isolationHeaders, port: process.env.PORT ? Number(process.env.PORT) : 4173 },
  // The model worker imports onnxruntime-web: its bundle gets the EP-options transform too.
  worker: { format: 'es', plugins: () => [ortEpOptions()] },
  optimizeDeps: { exclude: ['@huggingface/transformers', 'onnxruntime-web'] },
  build: {
    target: 'es2022',
    outDir: process.env.VITE_OUT_DIR ?? 'dist',
    chunkSizeWarningLimit: 4096,
    rollupOptions: { input: { main: resolve(import.meta.dirname, 'index.html'), ...harnessPages } },
  },
  test: {
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    // CI sums the JSON report with Playwright's into one closing line.
    reporters: process.env.VITEST_JSON ? ['default', 'json'] : ['default'],
    ...(process.env.VITEST_JSON ? { outputFile: { json: process.env.VITEST_JSON } } : {}),
  },
});
