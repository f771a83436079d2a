import { defineConfig } from '@playwright/test';

// Debian's Chromium, never a downloaded browser. WebGPU needs --enable-unsafe-webgpu (SwiftShader
// adapter here); importing VideoFrames into WebGPU also needs Vulkan on SwiftShader, and those
// features must be merged into Playwright's own --enable-features, so its default is dropped.
export const chromiumArgs = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan,SharedArrayBuffer',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

// PW_PORT lets several test runs (and developers) build and serve side by side.
const port = Number(process.env.PW_PORT ?? 4173);
const outDir = port === 4173 ? 'dist' : `dist-${port}`;

export default defineConfig({
  testDir: 'e2e',
  timeout: 180_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : [['list']],
  // Per port, so parallel runs don't wipe each other's output.
  outputDir: port === 4173 ? 'test-results' : `test-results-${port}`,
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: chromiumArgs,
      ignoreDefaultArgs: ['--enable-features'],
    },
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: `npx vite build --outDir ${outDir} && npx vite preview --outDir ${outDir} --port ${port} --strictPort --host 127.0.0.1`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: !process.env.CI,
    timeout: 180_000,
  },
});
