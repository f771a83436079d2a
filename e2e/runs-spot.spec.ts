import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import {
  chromium,
  expect,
  test,
  type BrowserContext,
  type Locator,
  type Page,
} from '@playwright/test';
import config, { chromiumArgs } from '../playwright.config';
import {
  parseBenchmarkFile,
  scoreOfficial,
  summarize,
  toOfficialJsonl,
  type QuestionResult,
} from '../src/bench/index';
import { fullPageShot } from './screenshot';
import { storedRows } from './stored';

// Runs as first-class objects, spot checks and presentation mode, end to end: the real tiny model
// (wasm), the real decoder and the 12 EgoPlan-Bench2 example clips, in ONE browser profile kept on
// disk (launchPersistentContext), so the last test can close the browser and open it again on the
// same IndexedDB, as a user restarting the browser would.

const EXAMPLES = new URL('../../shared/seedbench/egoplan-bench2-examples/', import.meta.url);
const SET = 'egoplan-bench2-examples-L3';
const SHOTS = 'test-results/screenshots';
const MAX_TOKENS = 24;
const samples = parseBenchmarkFile(
  'examples.jsonl',
  readFileSync(new URL('examples.jsonl', EXAMPLES), 'utf8'),
).samples;
// The question whose clip has reference frames: decord's N = 99 at 30 fps, torch's sampling.
const reference = JSON.parse(
  readFileSync(new URL('fixtures/reference/clip-f71fb12c.json', import.meta.url), 'utf8'),
) as { sample_id: string; indices: number[]; N: number; fps: number };
const spotIndex = samples.findIndex((s) => s.sampleId === reference.sample_id);
const spotSample = samples[spotIndex]!;

interface StoredRecord extends QuestionResult {
  runKey: string;
  device: string | null;
}
async function storedRecords(page: Page): Promise<StoredRecord[]> {
  return storedRows<StoredRecord>(page, 'results');
}

/** Records every text the live output shows, so a test can tell streaming from one late block. */
async function recordStream(page: Page, selector: string) {
  await page.evaluate((sel) => {
    const w = window as unknown as { streamed: string[] };
    w.streamed = [];
    new MutationObserver(() => {
      const t = document.querySelector(sel)?.textContent;
      if (t && w.streamed.at(-1) !== t) w.streamed.push(t);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, selector);
}
/**
 * Model output as shown, read back as text: characters the page cannot draw may be shown as
 * `\u{…}` code points (never as markup), which are turned back into the characters here.
 */
const asText = (shown: string) =>
  shown.replace(/\\u\{([0-9a-f]+)\}/gi, (_, hex: string) =>
    String.fromCodePoint(parseInt(hex, 16)),
  );
const streamed = async (page: Page) =>
  (await page.evaluate(() => (window as unknown as { streamed: string[] }).streamed)).map(asText);
const outputOf = async (l: Locator) => asText((await l.textContent()) ?? '');

async function shot(page: Page, name: string, opts: { width?: number; theme?: string } = {}) {
  const before = page.viewportSize();
  if (opts.width) await page.setViewportSize({ width: opts.width, height: before?.height ?? 900 });
  await page.evaluate((t) => {
    if (t) document.documentElement.dataset.theme = t;
    else delete document.documentElement.dataset.theme;
  }, opts.theme ?? null);
  await fullPageShot(page, `${SHOTS}/${name}.png`);
  await page.evaluate(() => delete document.documentElement.dataset.theme);
  if (before) await page.setViewportSize(before);
}

/** No serious or critical accessibility violation (axe) in what the page shows now. */
async function expectAccessible(page: Page, what: string) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, `axe on ${what}`).toEqual([]);
}

function launch(dir: string): Promise<BrowserContext> {
  const use = config.use ?? {};
  return chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: chromiumArgs,
    ignoreDefaultArgs: ['--enable-features'],
    ...(use.baseURL ? { baseURL: use.baseURL } : {}),
    viewport: { width: 1400, height: 900 },
  });
}

test.describe.configure({ mode: 'serial' });

let profile = '';
let context: BrowserContext;
let page: Page;

test.beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), 'seedbench-profile-'));
  context = await launch(profile);
  page = context.pages()[0] ?? (await context.newPage());
  // The tiny model on wasm, the example set, short answers (a setting the model must obey).
  await page.goto('/?view=run');
  const model = page.getByRole('group', { name: 'Model' });
  await model.getByLabel('device').selectOption('wasm');
  await model.getByLabel('dtype').selectOption('fp32');
  await model.getByRole('button', { name: 'Load model' }).click();
  await expect(model.getByTestId('model-status')).toContainText('on wasm', { timeout: 120_000 });
  const bench = page.getByRole('group', { name: 'Benchmark' });
  await bench.getByLabel('Benchmark set').selectOption(SET);
  await bench.getByLabel('First N questions').fill('2');
  await bench.getByLabel('First N questions').click();
  await bench.getByLabel('Max new tokens').fill(String(MAX_TOKENS));
  await page
    .getByRole('group', { name: 'Videos' })
    .getByRole('button', { name: 'Use the demo clips' })
    .click();
});

test.afterAll(async () => {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
});

test('spot check: the Benchmarks view plays the clip with the run’s sampled frames, and "Run this question" streams the answer', async () => {
  await page.getByRole('button', { name: 'Benchmarks', exact: true }).click();
  const list = page.getByRole('region', { name: 'Questions' });
  // A readable list: short ids, the goal rather than the shared opening, domain and scenario.
  const row = list.locator(`[data-index="${spotIndex}"]`);
  await expect(row.locator('.qb-id')).toHaveText('f71fb12c…_0');
  await expect(row.locator('.qb-goal')).toHaveText('remove clothes from the washing machine');
  await expect(row.locator('.qb-tag')).toHaveText([spotSample.domain!, spotSample.scenario!]);
  await row.click();
  const detail = page.getByRole('article', { name: `Question ${spotSample.sampleId}` });

  // The clip plays in a <video>; the marks on its timeline are the frames the run samples, which
  // are torch's indices for decord's frame count (the reference fixture).
  const video = detail.getByTestId('spot-video');
  await expect(video).toHaveJSProperty('readyState', 4, { timeout: 30_000 });
  const duration = await video.evaluate((v: HTMLVideoElement) => v.duration);
  expect(Math.abs(duration - reference.N / reference.fps)).toBeLessThan(0.05);
  const marks = detail.locator('.spot-timeline .spot-mark');
  await expect(marks).toHaveCount(reference.indices.length);
  const markIndices = (await marks.evaluateAll((ms) => ms.map((m) => m.dataset.frameIndex))).map(
    Number,
  );
  expect(markIndices).toEqual(reference.indices);
  const thumbs = detail.getByRole('list', {
    name: `${reference.indices.length} sampled clip frames`,
  });
  await expect(thumbs.getByRole('button')).toHaveCount(reference.indices.length);
  expect(
    await thumbs
      .locator('img')
      .evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).naturalWidth > 0)),
  ).toBe(true);
  // A frame button shows that frame in the clip (the timestamp the demuxer gave it).
  await thumbs.getByRole('button').nth(2).click();
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime))
    .toBeCloseTo(reference.indices[2]! / reference.fps, 1);
  // No still file: the observation is the clip's last frame, held in a second <video>.
  await expect(detail.getByTestId('spot-still-frame')).toHaveJSProperty('readyState', 4);
  await shot(page, 'spot-check-1400');

  // Run it: the answer streams here, through the run's own path under the Run view's settings.
  await recordStream(page, '[data-testid="spot-live"] .output-text');
  await detail.getByRole('button', { name: 'Run this question' }).click();
  const answer = detail.getByTestId('spot-answer');
  await expect(answer).toBeVisible({ timeout: 120_000 });
  const records = await storedRecords(page);
  const r = records.find((x) => x.sampleId === spotSample.sampleId)!;
  // The model got the sampled frames the timeline marks, and the max-tokens setting.
  expect(r.frameIndices).toEqual(markIndices);
  expect(r.runKey).toContain(`max${MAX_TOKENS}`);
  expect(r.timings.decodeTokens! + 1).toBeLessThanOrEqual(MAX_TOKENS);
  expect(r.modelPrompt?.clipTokens).toBe((reference.indices.length / 2) * 81);
  await expect(answer.getByTestId('spot-result-frames')).toHaveText(
    `The model got frames ${markIndices.join(', ')}`,
  );
  expect(await outputOf(answer.locator('.output-text'))).toBe(r.response);
  const seen = await streamed(page);
  expect(seen.length).toBeGreaterThanOrEqual(3);
  // A character split between two tokens may show as U+FFFD until its second half arrives.
  for (const t of seen) expect(r.response!.startsWith(t.replace(/\uFFFD+$/, ''))).toBe(true);
  // The list marks it, with the mark in words for screen readers.
  const status = r.official?.reward === 1 ? 'right' : r.official?.letter ? 'wrong' : 'unparseable';
  await expect(row.getByTestId('question-mark')).toContainText(status);
  await expectAccessible(page, 'the Benchmarks view with a spot check');
  await shot(page, 'spot-check-answer-1400');
  await shot(page, 'spot-check-420', { width: 420 });
  await shot(page, 'spot-check-420-dark', { width: 420, theme: 'dark' });
});

test('presentation mode plays a clip, streams an answer and moves with the arrow keys', async () => {
  await page
    .getByRole('article', { name: `Question ${spotSample.sampleId}` })
    .getByRole('button', { name: /Present/ })
    .click();
  const present = page.getByTestId('presentation');
  await expect(present).toBeVisible();
  await expect(page).toHaveURL(/present=1/);
  await expect(present.getByTestId('present-position')).toHaveText(
    `Question ${spotIndex + 1} / ${samples.length}`,
  );
  await expect(present.getByTestId('present-question')).toHaveText(spotSample.question);
  // The clip plays by itself (muted, looping), its sampled frames beside it.
  const video = present.getByTestId('spot-video');
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => (v.paused ? -1 : v.currentTime)), {
      timeout: 30_000,
    })
    .toBeGreaterThan(0.2);
  await expect(present.locator('.spot-frames button')).toHaveCount(reference.indices.length);
  // The gold answer waits for the model's.
  await expect(present.locator('.present-choice.gold')).toHaveCount(0);

  // R runs the loaded model: the reasoning streams, then its answer is lit against gold.
  await recordStream(page, '[data-testid="present-reasoning"] .output-text');
  await page.keyboard.press('r');
  const verdict = present.getByTestId('present-verdict');
  await expect(verdict).toBeVisible({ timeout: 120_000 });
  const r = (await storedRecords(page))
    .filter((x) => x.sampleId === spotSample.sampleId)
    .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt))
    .at(-1)!;
  const official = scoreOfficial(r.response!, spotSample.gold);
  await expect(verdict).toContainText(
    official.letter === null
      ? 'No answer the official rule can read'
      : `answered ${official.letter}, gold ${spotSample.gold}`,
  );
  await expect(present.locator('.present-choice.gold')).toHaveAttribute(
    'data-letter',
    spotSample.gold,
  );
  await expect(present.locator('.present-choice.chosen')).toHaveCount(official.letter ? 1 : 0);
  const seen = await streamed(page);
  expect(seen.length).toBeGreaterThanOrEqual(3);
  // A character split between two tokens may show as U+FFFD until its second half arrives.
  for (const t of seen) expect(r.response!.startsWith(t.replace(/\uFFFD+$/, ''))).toBe(true);
  await expectAccessible(page, 'presentation mode');
  await shot(page, 'presentation-1400');
  await shot(page, 'presentation-1400-dark', { theme: 'dark' });
  await shot(page, 'presentation-420', { width: 420 });
  await shot(page, 'presentation-420-dark', { width: 420, theme: 'dark' });

  // Arrow keys move between questions (the address follows); the next clip plays.
  const src = await video.getAttribute('src');
  await page.keyboard.press('ArrowRight');
  const next = samples[spotIndex + 1]!;
  await expect(present.getByTestId('present-position')).toHaveText(
    `Question ${spotIndex + 2} / ${samples.length}`,
  );
  await expect(present.getByTestId('present-question')).toHaveText(next.question);
  await expect(page).toHaveURL(new RegExp(`q=${next.sampleId}`));
  await expect(present.getByTestId('spot-video')).not.toHaveAttribute('src', src ?? '');
  await expect
    .poll(() =>
      present
        .getByTestId('spot-video')
        .evaluate((v: HTMLVideoElement) => (v.paused ? -1 : v.currentTime)),
    )
    .toBeGreaterThan(0.2);
  // A clip of 8 s or more gets 16 frames (protocol section 2).
  await expect(present.locator('.spot-timeline .spot-mark')).toHaveCount(16);
  await shot(page, 'presentation-16-frames-1400');
  await page.keyboard.press('ArrowLeft');
  await expect(present.getByTestId('present-question')).toHaveText(spotSample.question);
  await page.keyboard.press('Escape');
  await expect(page.getByRole('navigation', { name: 'Views' })).toBeVisible();
});

test('a run reopened after a browser restart shows its results, Inspector and frames', async () => {
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('button', { name: /Start run/ }).click();
  await expect(page.getByTestId('run-status')).toHaveText('finished', { timeout: 300_000 });
  const first2 = samples.slice(0, 2);
  const inRun = (await storedRecords(page)).filter((r) =>
    first2.some((s) => s.sampleId === r.sampleId),
  );
  expect(inRun).toHaveLength(2);

  // Close the browser and start it again on the same profile.
  await context.close();
  context = await launch(profile);
  page = context.pages()[0] ?? (await context.newPage());
  await page.goto('/?view=results');

  // Results open on the last run: its headline and its entry in the run list.
  const view = page.getByRole('region', { name: 'Results' });
  const head = view.getByTestId('run-headline');
  const official = summarize(inRun).total.byMode.official!;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  await expect(head.getByTestId('headline-model')).toHaveText('tiny-random-qwen2-vl');
  await expect(head.getByTestId('headline-accuracy')).toHaveText(pct(official.accuracy));
  await expect(head.getByTestId('headline-interval')).toHaveText(
    `95% CI ${pct(official.wilson.low)}–${pct(official.wilson.high)}`,
  );
  await expect(head.getByTestId('headline-device')).toHaveText('wasm');
  await expect(head.getByTestId('headline-dtype')).toHaveText('fp32');
  await expect(head.getByTestId('headline-done')).toContainText('2 / 2 done');
  await expect(head.getByTestId('headline-official')).toHaveText(
    `⚠ Not official: max ${MAX_TOKENS} new tokens (official: 256)`,
  );
  const card = view.getByRole('list', { name: 'Runs' }).locator('[aria-current="true"]');
  await expect(card.getByTestId('run-done')).toHaveText('2 / 2 done');
  await expect(card.getByTestId('run-accuracy')).toHaveText(
    `${pct(official.accuracy)} (n ${official.n})`,
  );
  await expectAccessible(page, 'the reopened run in Results');
  await shot(page, 'results-reopened-1400');
  await shot(page, 'results-reopened-420-dark', { width: 420, theme: 'dark' });

  // The official export works from the stored questions, byte for byte as the bench writes it.
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    view.getByRole('button', { name: /Official results L3/ }).click(),
  ]);
  expect(readFileSync(await file.path(), 'utf8')).toBe(toOfficialJsonl(first2, inRun).jsonl);

  // The Inspector shows the run's questions, what each model said and the frames it saw.
  await page.getByRole('button', { name: 'Inspector', exact: true }).click();
  const insp = page.getByRole('region', { name: 'Inspector' });
  await expect(insp.getByTestId('inspector-run')).toContainText('Stored run');
  for (const r of inRun) {
    await insp.locator(`[data-sample-id="${r.sampleId}"]`).click();
    const detail = insp.getByRole('article');
    await expect(detail.getByTestId('inspector-sample-id')).toHaveText(r.sampleId);
    await expect(detail.locator('.output-text')).toBeVisible();
    expect(await outputOf(detail.locator('.output-text'))).toBe(r.response);
    const strip = detail.getByRole('list', { name: /sampled clip frames/ });
    await expect(strip.locator('figcaption')).toHaveCount(r.frameIndices!.length);
    // innerText keeps the line break between the index and the timestamp.
    const captions = await strip.locator('figcaption').allInnerTexts();
    expect(captions.map((c) => Number(/#(\d+)/.exec(c)?.[1]))).toEqual(r.frameIndices);
    expect(
      await strip
        .locator('img')
        .evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).naturalWidth > 0)),
    ).toBe(true);
  }
  // Reported, not asserted: what keeping the thumbnails costs per question in IndexedDB.
  const kept = await page.evaluate(
    () =>
      new Promise<{ questions: number; bytes: number }>((done, fail) => {
        const req = indexedDB.open('seedbench-web');
        req.onsuccess = () => {
          const all = req.result.transaction('frames').objectStore('frames').getAll();
          all.onsuccess = () => {
            const rows = all.result as { previews: Blob[] }[];
            const bytes = rows.reduce((n, r) => n + r.previews.reduce((m, b) => m + b.size, 0), 0);
            done({ questions: rows.length, bytes });
            req.result.close();
          };
          all.onerror = () => fail(all.error ?? new Error('IndexedDB getAll failed'));
        };
        req.onerror = () => fail(req.error ?? new Error('IndexedDB open failed'));
      }),
  );
  console.log(
    `frames kept: ${kept.questions} questions, ${(kept.bytes / kept.questions / 1024).toFixed(1)} KiB per question`,
  );
  await expectAccessible(page, 'the reopened run in the Inspector');
  await shot(page, 'inspector-reopened-1400');

  // A run of an older version kept no thumbnails: they are decoded again from the same clips,
  // checked against the frame indices the run recorded, and kept from then on.
  const old = inRun[1]!;
  await page.evaluate(
    ([key, id]) =>
      new Promise<void>((done, fail) => {
        const req = indexedDB.open('seedbench-web');
        req.onsuccess = () => {
          const t = req.result.transaction('frames', 'readwrite');
          t.objectStore('frames').delete([key, id]);
          t.oncomplete = () => {
            req.result.close();
            done();
          };
          t.onerror = () => fail(t.error ?? new Error('IndexedDB delete failed'));
        };
        req.onerror = () => fail(req.error ?? new Error('IndexedDB open failed'));
      }),
    [old.runKey, old.sampleId] as const,
  );
  await page.reload();
  await insp.locator(`[data-sample-id="${old.sampleId}"]`).click();
  const detail = insp.getByRole('article');
  await expect(detail.getByTestId('frames-missing')).toContainText('kept no frames');
  await detail.getByRole('button', { name: 'Decode them again from the clips' }).click();
  const strip = detail.getByRole('list', { name: /sampled clip frames/ });
  await expect(strip.locator('figcaption')).toHaveCount(old.frameIndices!.length);
  const captions = await strip.locator('figcaption').allInnerTexts();
  expect(captions.map((c) => Number(/#(\d+)/.exec(c)?.[1]))).toEqual(old.frameIndices);
});

test('presentation mode offline: the shell from the service worker, the clips from a picked folder', async () => {
  await context.setOffline(true);
  await page.goto(`/?present=1&set=${SET}&q=${spotSample.sampleId}`);
  const present = page.getByTestId('presentation');
  await expect(present.getByTestId('present-question')).toHaveText(spotSample.question);
  // The served demo clips are out of reach: the slide says so and offers a folder.
  await expect(present.getByTestId('spot-frames-status')).toContainText('No clips to play');
  await present.getByLabel('Clips folder').setInputFiles(EXAMPLES.pathname);
  await expect
    .poll(() =>
      present
        .getByTestId('spot-video')
        .evaluate((v: HTMLVideoElement) => (v.paused ? -1 : v.currentTime)),
    )
    .toBeGreaterThan(0.2);
  const marks = present.locator('.spot-timeline .spot-mark');
  expect(
    (await marks.evaluateAll((ms) => ms.map((m) => m.dataset.frameIndex))).map(Number),
  ).toEqual(reference.indices);
  // The last run's model as it was asked for, from the model cache; then a live answer.
  await present.getByRole('button', { name: 'Load tiny-random-qwen2-vl (fp32, wasm)' }).click();
  await expect(present.getByRole('button', { name: 'Run the model (R)' })).toBeEnabled({
    timeout: 120_000,
  });
  await page.keyboard.press('r');
  await expect(present.getByTestId('present-verdict')).toBeVisible({ timeout: 120_000 });
  await context.setOffline(false);
});

test('presentation lights the model’s answer against gold, in words as well as colour (harness)', async ({
  page: p,
}) => {
  // The tiny random model never writes an <answer> tag, so the answers here are written by the
  // test, recorded and scored as a spot check records them (the real bench code, in the page).
  type Harness = {
    harness: {
      open: (f: { name: string; text: string }, set: string, i: number) => Promise<number>;
      answer: (response: string) => void;
    };
  };
  await p.setViewportSize({ width: 1400, height: 900 });
  await p.goto('/e2e/harness/present.html');
  await p.waitForFunction(() => 'harness' in window);
  const file = {
    name: 'examples.jsonl',
    text: readFileSync(new URL('examples.jsonl', EXAMPLES), 'utf8'),
  };
  const next = samples[spotIndex + 1]!;
  expect(
    await p.evaluate(([f, set, i]) => (window as unknown as Harness).harness.open(f, set, i), [
      file,
      SET,
      spotIndex + 1,
    ] as const),
  ).toBe(samples.length);
  const present = p.getByTestId('presentation');
  await expect(present.locator('.spot-timeline .spot-mark')).toHaveCount(16, { timeout: 30_000 });
  const gold = next.gold;
  const wrong = gold === 'A' ? 'B' : 'A';
  const answer = (r: string) =>
    p.evaluate((text) => (window as unknown as Harness).harness.answer(text), r);

  await answer(`<think>The tray is in my hands.</think><answer>${wrong}</answer>`);
  const verdict = present.getByTestId('present-verdict');
  await expect(verdict).toHaveText(`✗ Wrong: answered ${wrong}, gold ${gold}`);
  const chosen = present.locator('.present-choice.chosen');
  await expect(chosen).toHaveAttribute('data-letter', wrong);
  await expect(chosen).toContainText('✗ model’s answer');
  await expect(present.locator('.present-choice.gold')).toHaveAttribute('data-letter', gold);
  await expect(present.locator('.present-choice.gold')).toContainText('✓ gold');
  await shot(p, 'presentation-answer-wrong-1400');

  // Right, with markup in the output: lit, and the markup stays text.
  await answer(
    `<think>The oven is open.</think><answer>${gold}. ${next.choices[0]}</answer><img src=x onerror="window.__xss=1">`,
  );
  await expect(verdict).toHaveText(`✓ Right: answered ${gold}, gold ${gold}`);
  await expect(present.locator('.present-choice.chosen.gold')).toContainText('✓ model’s answer');
  await expect(present.getByTestId('present-reasoning')).toContainText('<img src=x');
  await expect(present.getByTestId('present-reasoning').locator('img')).toHaveCount(0);
  expect(await p.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  await expectAccessible(p, 'presentation with an answer');
  await shot(p, 'presentation-answer-right-1400-dark', { theme: 'dark' });
  await shot(p, 'presentation-answer-right-420', { width: 420 });
});
