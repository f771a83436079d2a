import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stripVTControlCharacters } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { fullPageShot } from './screenshot';
import { storedRows } from './stored';

// The app as a new user meets it: the device "auto" picks, what the Run panel and status line say
// from the first token on, every view in both themes at a wide and a narrow width (axe, with
// screenshots to look at), and a clone without ../shared. One page and one model load for all.

const SET = 'egoplan-bench2-examples-L3';
const SHOTS = 'test-results/screenshots';
const EXAMPLES = resolve(import.meta.dirname, '../../shared/seedbench/egoplan-bench2-examples');

test.describe.configure({ mode: 'serial' });

let page: Page;
/** Every response of 400 or more the app got (the favicon included), as "status url". */
const failed: string[] = [];

async function newPage(browser: Browser, baseURL: string | undefined): Promise<Page> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1400, height: 900 } });
  const p = await context.newPage();
  p.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  return p;
}

test.beforeAll(async ({ browser }, info) => {
  page = await newPage(browser, info.project.use.baseURL);
});
test.afterAll(async () => {
  await page.context().close();
});

async function storedDevices(p: Page): Promise<(string | null)[]> {
  return (await storedRows<{ device: string | null }>(p, 'results')).map((r) => r.device);
}

test('auto on a SwiftShader-only browser picks wasm; speed and ETA from the first tokens', async () => {
  await page.goto('/');
  await page.evaluate(() => indexedDB.deleteDatabase('seedbench-web'));
  await page.goto('/?view=run');
  // The precondition, from the browser itself: its only WebGPU adapter is a software fallback.
  const adapter = await page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    const a = (await gpu?.requestAdapter()) as { info?: { isFallbackAdapter?: boolean } } | null;
    return a ? (a.info?.isFallbackAdapter ?? null) : 'none';
  });
  expect(adapter).toBe(true);

  // Before anything is loaded, Start says why it cannot start, in the open.
  const start = page.getByRole('button', { name: /Start run/ });
  await expect(start).toBeDisabled();
  await expect(page.getByTestId('start-reason')).toHaveText('Load a model first (1 · Model).');
  await expect(start).toHaveAccessibleDescription('Load a model first (1 · Model).');

  const model = page.getByRole('group', { name: 'Model' });
  await expect(model.getByLabel('device')).toHaveValue('auto');
  await model.getByLabel('dtype').selectOption('fp32');
  await model.getByRole('button', { name: 'Load model' }).click();
  const status = model.getByTestId('model-status');
  await expect(status).toContainText('on wasm', { timeout: 120_000 });
  await expect(status).toContainText('is a software fallback, slower than wasm');
  await expect(model.getByTestId('device-runs')).toHaveText('runs on wasm');
  await expect(page.getByTestId('status-device')).toContainText('wasm');

  const bench = page.getByRole('group', { name: 'Benchmark' });
  await bench.getByLabel('Benchmark set').selectOption(SET);
  await bench.getByLabel('First N questions').fill('2');
  await bench.getByLabel('First N questions').click();
  await page
    .getByRole('group', { name: 'Videos' })
    .getByRole('button', { name: 'Use the demo clips' })
    .click();
  await expect(page.getByTestId('media-summary')).toContainText(
    '2 of 2 questions have their files',
  );
  await expect(page.getByTestId('start-reason')).toHaveCount(0);

  // Every text the progress lines show, as the page renders it (not sampled by the test's clock).
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    new MutationObserver(() => {
      const text = (id: string) =>
        document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '';
      seen.push(`${text('run-progress')} | ${text('live-status')} | ${text('status-run')}`);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await start.click();
  // Locked while it runs, and it says why.
  await expect(page.getByTestId('settings-locked')).toBeVisible();
  await expect(model.getByLabel('dtype')).toBeDisabled();
  await expect(bench.getByLabel('Benchmark set')).toBeDisabled();
  await expect(page.getByTestId('live-status')).toContainText('/ 256 tokens');
  await page.screenshot({ path: `${SHOTS}/ui-run-live-light-1400.png` });
  // Paused (after the question in progress): one Resume, no ETA, the settings still locked.
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('run-status')).toHaveText('paused', { timeout: 120_000 });
  await expect(page.getByRole('button', { name: 'Resume' })).toHaveCount(1);
  await expect(page.getByTestId('run-progress')).toContainText('1 / 2 done · paused');
  await expect(page.getByTestId('run-progress')).not.toContainText('ETA');
  await expect(model.getByLabel('dtype')).toBeDisabled();
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('run-status')).toHaveText('finished', { timeout: 300_000 });
  await expect(page.getByTestId('settings-locked')).toHaveCount(0);
  await expect(model.getByLabel('dtype')).toBeEnabled();

  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  // Before the first question ended: n / 256 tokens, tokens/s and an ETA (an upper bound then).
  const early = seen.filter((s) => s.startsWith('0 / 2 done'));
  expect(early.some((s) => /ETA ≤ .* · [\d.]+ tokens\/s \| .*: \d+ \/ 256 tokens/.test(s))).toBe(
    true,
  );
  expect(
    early.some((s) =>
      /\d+ \/ 256 tokens · [\d.]+ tokens\/s · ETA ≤ /.test(s.split(' | ')[2] ?? ''),
    ),
  ).toBe(true);
  // After it: the ETA from the question's real time, no longer an upper bound.
  expect(seen.some((s) => s.startsWith('1 / 2 done') && /ETA \d/.test(s))).toBe(true);
  // Where the device was used: each stored result records the device its model ran on.
  expect(await storedDevices(page)).toEqual(['wasm', 'wasm']);
  await expect(page.getByTestId('run-device')).toContainText('On wasm');
});

test('model output: characters this system cannot draw are shown as code points', async () => {
  await page.getByRole('button', { name: 'Inspector', exact: true }).click();
  const out = page.locator('.output-text').first();
  await expect(out).toBeVisible();
  const id = await page.getByTestId('inspector-sample-id').textContent();
  const response =
    (await storedRows<{ sampleId: string; response: string | null }>(page, 'results')).find(
      (r) => r.sampleId === id,
    )?.response ?? null;
  expect(response).not.toBeNull();
  const shown = await page.evaluate(() => {
    const pre = document.querySelector('.output-text');
    const walker = document.createTreeWalker(pre ?? document.body, NodeFilter.SHOW_TEXT);
    let all = '';
    let plain = '';
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      all += n.textContent ?? '';
      if (!n.parentElement?.closest('.hidden-char')) plain += n.textContent ?? '';
    }
    return { all, plain };
  });
  // Nothing lost or interpreted: what is shown, escapes decoded, is the stored output.
  const decoded = shown.all.replace(/\\u\{([0-9a-f]{1,6})\}/g, (_, hex: string) =>
    String.fromCodePoint(parseInt(hex, 16)),
  );
  expect(decoded).toBe(response);
  // Debian's fonts-liberation and DejaVu draw no Han (fontconfig is the ground truth): the tiny
  // model's random tokens that are Han must not be left to show as boxes.
  const han = spawnSync('fc-list', [':lang=zh'], { encoding: 'utf8' }).stdout.trim();
  if (han === '' && /\p{Script=Han}/u.test(response ?? '')) {
    expect(shown.plain).not.toMatch(/\p{Script=Han}/u);
    await expect(page.getByTestId('hidden-note').first()).toContainText(
      'characters this system has no font for',
    );
  }
});

const WIDTHS = [1400, 420] as const;

/**
 * Views reached by a URL rather than the nav bar (e.g. presentation mode, `?present=1&set=…&q=…`):
 * each is checked like the nav's views. The nav's views are found from the nav itself.
 */
const URL_VIEWS: { name: string; url: string }[] = [];

test('every view, both themes, 1400 and 420 px wide: no serious or critical axe violations', async () => {
  test.setTimeout(300_000);
  await page.getByRole('button', { name: 'Benchmarks', exact: true }).click();
  await page.locator(`[data-set-id="${SET}"]`).click();
  await expect(page.getByRole('article')).toBeVisible();
  const nav = page.getByRole('navigation', { name: 'Views' });
  const views = await nav.getByRole('button').allTextContents();
  expect(views.length).toBeGreaterThanOrEqual(4);
  const toggle = page.getByRole('button', { name: 'Dark theme' });
  const problems: string[] = [];
  const lesser = new Map<string, number>();
  /** The page as it is now: not wider than the window, axe, a screenshot. */
  const check = async (view: string, theme: string, width: number) => {
    const where = `${view} ${theme} ${width}px`;
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    if (overflow > 0) problems.push(`${where}: ${overflow} px wider than the window`);
    const axe = await new AxeBuilder({ page }).analyze();
    for (const v of axe.violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        const nodes = v.nodes.slice(0, 3).map((n) => n.target.join(' '));
        problems.push(`${where}: ${v.id} (${v.impact}) ${v.help}: ${nodes.join(', ')}`);
      } else lesser.set(`${v.id} (${v.impact})`, (lesser.get(`${v.id} (${v.impact})`) ?? 0) + 1);
    }
    const name = view.toLowerCase().replace(/\W+/g, '-');
    await fullPageShot(page, `${SHOTS}/ui-${name}-${theme}-${width}.png`);
  };
  for (const theme of ['light', 'dark'] as const) {
    // Pressed at least once, so the theme is the user's choice (and remembered), not the system's.
    const html = page.locator('html');
    for (let i = 0; i < 2 && (await html.getAttribute('data-theme')) !== theme; i++)
      await toggle.click();
    await expect(html).toHaveAttribute('data-theme', theme);
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      for (const view of views) {
        const button = nav.getByRole('button', { name: view, exact: true });
        await button.click();
        await expect(button).toHaveAttribute('aria-current', 'page');
        await check(view, theme, width);
      }
      for (const { name, url } of URL_VIEWS) {
        await page.goto(url);
        await check(name, theme, width);
        await page.goBack();
      }
    }
  }
  expect(problems).toEqual([]);
  // Moderate and minor findings do not fail the test; they are listed for whoever looks next.
  const minor = [...lesser].map(([k, n]) => `${k}: ${n}`).join('; ') || 'none';
  test.info().annotations.push({ type: 'axe moderate/minor', description: minor });
  console.log(`axe moderate/minor findings (views x themes x widths): ${minor}`);

  // The theme is remembered; the keys list opens with "?" and Escape closes it.
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.locator('.app-header').click({ position: { x: 2, y: 2 } });
  await page.keyboard.press('?');
  const dialog = page.getByRole('dialog', { name: 'Keyboard' });
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await page.keyboard.press('Alt+2');
  await expect(nav.getByRole('button', { name: 'Run', exact: true })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await page.setViewportSize({ width: 1400, height: 900 });
  // No request failed, the favicon included (index.html declares an empty one), but the model
  // loader's probes for optional external-data files (.onnx_data), which the tiny model lacks.
  expect(failed.filter((f) => !/\/models\/.*\.onnx_data$/.test(f))).toEqual([]);
});

test('bad input: a callout naming the file, gone when another set is picked', async () => {
  await page.goto('/?view=run');
  const bench = page.getByRole('group', { name: 'Benchmark' });
  await bench.getByLabel('Annotation file', { exact: true }).setInputFiles({
    name: 'notes.json',
    mimeType: 'application/json',
    buffer: Buffer.from('{"hello": 1}'),
  });
  const alert = bench.getByRole('alert');
  await expect(alert).toContainText('Not read:');
  await expect(alert).toContainText('notes.json');
  await bench.getByLabel('Benchmark set').selectOption(SET);
  await expect(bench.getByRole('alert')).toHaveCount(0);
  await expect(bench.getByRole('list', { name: 'Annotation file report' })).toHaveCount(0);
});

test('a fresh clone without ../shared serves the app with the message', async ({
  browser,
}, info) => {
  test.setTimeout(240_000);
  // The working tree as a clone has it (tracked and untracked, nothing git ignores), in a folder
  // with no ../shared beside it; node_modules linked in (as `npm ci` would have installed it).
  const root = resolve(import.meta.dirname, '..');
  const base = mkdtempSync(join(tmpdir(), 'seedbench-clone-'));
  const clone = join(base, 'seedbench-web');
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  }).stdout.split('\0');
  for (const f of files.filter(Boolean)) {
    mkdirSync(dirname(join(clone, f)), { recursive: true });
    cpSync(join(root, f), join(clone, f));
  }
  symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'));
  let server: ChildProcess | null = null;
  let log = '';
  try {
    // npm start itself, on a port of its own (PORT=0: any free one; vite says which).
    server = spawn('npm', ['start'], {
      cwd: clone,
      env: { ...process.env, PORT: '0' },
      detached: true,
    });
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`npm start did not serve:\n${log}`)), 200_000);
      const onData = (d: Buffer) => {
        log += d.toString();
        // Without vite's colours (ANSI escapes), which wrap the port.
        const plain = stripVTControlCharacters(log);
        const m = /Local:\s+(http:\/\/\S+)/.exec(plain);
        if (m?.[1]) {
          clearTimeout(timer);
          done(m[1]);
        }
      };
      server?.stdout?.on('data', onData);
      server?.stderr?.on('data', onData);
      server?.on('exit', (code) => fail(new Error(`npm start exited ${code}:\n${log}`)));
    });
    expect(log).toContain('../shared/seedbench not found: the app starts without benchmark sets');
    expect(log).not.toContain('ENOENT');
    info.annotations.push({ type: 'npm start (clone without ../shared)', description: url });

    const p = await newPage(browser, undefined);
    // A new browser with a dark system theme and no choice stored: dark, from prefers-color-scheme.
    await p.emulateMedia({ colorScheme: 'dark' });
    await p.goto(url);
    await expect(p.getByRole('button', { name: 'Dark theme' })).toHaveAttribute(
      'aria-pressed',
      'true',
    );
    expect(await p.locator('html').getAttribute('data-theme')).toBeNull();
    expect(await p.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
      'rgb(15, 17, 21)',
    );
    const note = p.getByTestId('sets-missing');
    await expect(note).toContainText(
      'No benchmark sets yet. Get them with npm run fetch-benchmarks (online) or npm run fetch-benchmarks -- --from DIR (a folder of annotation files), then run npm start again.',
    );
    await expect(p.getByTestId('sets-state')).toHaveText(
      'None in this build (see the note above).',
    );
    await fullPageShot(p, `${SHOTS}/ui-no-sets-dark-1400.png`);
    await note.getByRole('button', { name: 'Run view' }).click();
    const model = p.getByRole('group', { name: 'Model' });
    await expect(model.getByLabel('Built-in tiny test model (offline)')).toBeChecked();
    await expect(model.getByRole('button', { name: 'Load model' })).toBeEnabled();
    // An annotation file still opens, and its questions are there to run.
    await p
      .getByRole('group', { name: 'Benchmark' })
      .getByLabel('Annotation file', { exact: true })
      .setInputFiles({
        name: 'examples.jsonl',
        mimeType: 'application/x-ndjson',
        buffer: readFileSync(join(EXAMPLES, 'examples.jsonl')),
      });
    await expect(p.getByRole('list', { name: 'Annotation file report' })).toContainText(
      'examples.jsonl: 12 of 12 questions read',
    );
    await expect(p.getByTestId('start-reason')).toHaveText('Load a model first (1 · Model).');
    await p.context().close();
  } finally {
    if (server?.pid) process.kill(-server.pid, 'SIGTERM');
    rmSync(base, { recursive: true, force: true });
  }
});
