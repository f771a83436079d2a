import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import {
  agreement,
  promptRecordFor,
  resultFrom,
  parseBenchmarkFile,
  summarize,
  toOfficialJsonl,
  type ModelOutputs,
  type QuestionResult,
  type Sample,
} from '../src/bench/index';
import { FILTERS, passesFilter } from '../src/ui/results-inspect';
import { fullPageShot } from './screenshot';

// The Results view and the Inspector on real questions (EgoPlan validation L1/L2 and the 12
// EgoPlan-Bench2 examples) and real decoded frames of one example clip. The model outputs are
// written here to cover every case the views must show (right, wrong, unparseable, truncated,
// hostile markup, error, not run); they are scored in the page by the real bench code, and every
// number asserted is recomputed here with the same bench functions: exact equality is expected.

const shared = new URL('../../shared/seedbench/', import.meta.url);
const files = [
  {
    name: 'EgoPlan_validation.json',
    text: readFileSync(new URL('EgoPlan_validation.json', shared), 'utf8'),
  },
  {
    name: 'examples.jsonl',
    text: readFileSync(new URL('egoplan-bench2-examples/examples.jsonl', shared), 'utf8'),
  },
];
const all = files.flatMap((f) => parseBenchmarkFile(f.name, f.text).samples);
const l1 = all.filter((s) => s.level === 'L1').slice(0, 30);
const l2 = all.filter((s) => s.level === 'L2').slice(0, 12);
const l3 = all.filter((s) => s.level === 'L3');
const run: Sample[] = [...l1, ...l2, ...l3];
const notRun = new Set(run.slice(-4).map((s) => s.sampleId));

const wrongOf = (s: Sample) => (s.gold === 'A' ? 'C' : 'A');
function rawOutputFor(s: Sample, i: number): Partial<ModelOutputs> | null {
  if (notRun.has(s.sampleId)) return null;
  if (i === 7)
    return {
      response: null,
      error: { stage: 'clip', message: `missing file ${s.clipPaths?.[0]}` },
    };
  const think =
    '<think>The clip shows the progress so far; the still shows the current state.</think>';
  switch (i % 6) {
    case 0:
      return { response: `${think}<answer>${s.gold}</answer>` };
    case 1:
      return { response: `${think}<answer>${wrongOf(s)}. ${s.choices[0]}</answer>` };
    case 2:
      return { response: `${think}<answer>Option ${s.gold}</answer>` };
    case 3:
      return { response: '<think>Looking at the video, the person has been preparing and' };
    case 4:
      return {
        response: `${think}<answer>${s.gold}</answer>`,
        letterLogprobs: [-1.9, -0.6, -2.3, -1.2],
        choiceNll: [2.41, 1.87, 3.02, 2.2],
      };
    default:
      return {
        response: `<answer>${s.gold}</answer><img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`,
      };
  }
}
/** Answered questions carry the record the model writes (16 clip frames, SEED-Bench-R1 wording). */
function outputFor(s: Sample, i: number): Partial<ModelOutputs> | null {
  const o = rawOutputFor(s, i);
  if (!o) return null;
  const asked = o.response !== null;
  return { ...o, modelPrompt: asked ? promptRecordFor(s, 'seed-bench-r1', 16, 900) : null };
}
const outputs: Record<string, Partial<ModelOutputs>> = {};
run.forEach((s, i) => {
  const o = outputFor(s, i);
  if (o) outputs[s.sampleId] = o;
});
const results: QuestionResult[] = run
  .filter((s) => outputs[s.sampleId])
  .map((s) => resultFrom(s, outputs[s.sampleId]!));
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

const frameDir = new URL('fixtures/reference/clip-f71fb12c/', import.meta.url);
const frameFiles = [
  '00_src0000',
  '01_src0020',
  '02_src0039',
  '03_src0059',
  '04_src0078',
  '05_src0098',
];
const frames = [
  {
    sampleId: l1[0]!.sampleId,
    pngs: [
      ...frameFiles.map((f) =>
        readFileSync(new URL(`frame_${f}.png`, frameDir)).toString('base64'),
      ),
      readFileSync(new URL('fixtures/reference/still-sample5.png', import.meta.url)).toString(
        'base64',
      ),
    ],
    indices: frameFiles.map((f) => Number(f.slice(-4))),
    timestampsS: frameFiles.map((f) => Number(f.slice(-4)) / 30), // the clip is 30 fps
    stillFrom: 'image' as const,
  },
];

async function open(page: Page) {
  await page.goto('/e2e/harness/results.html');
  await page.waitForFunction(() => 'harness' in window);
  const stored = await page.evaluate(
    ([f, ids, o, fr]) =>
      (window as unknown as { harness: { load: (...a: unknown[]) => number } }).harness.load(
        f,
        ids,
        o,
        fr,
      ),
    [files, run.map((s) => s.sampleId), outputs, frames] as const,
  );
  expect(stored).toBe(results.length);
}

test('results: accuracy table, chart, letters, exports and an imported official file', async ({
  page,
}) => {
  await open(page);
  const view = page.getByRole('region', { name: 'Results' });
  const summary = summarize(results);
  for (const g of [summary.total, ...summary.levels, ...summary.domains]) {
    const row = view.locator(`[data-testid="accuracy-table"] tr[data-group="${g.key}"]`);
    await expect(row.locator('td').nth(2)).toHaveText(pct(g.byMode.official!.accuracy));
    await expect(row.locator('td').first()).toHaveText(String(g.byMode.official!.n));
  }
  await expect(view.getByTestId('results-progress')).toContainText(
    `${results.length} of ${run.length} questions finished`,
  );
  // The headline: the official number with its Wilson interval, what ran, official or not.
  const total = summary.total.byMode.official!;
  const head = view.getByTestId('run-headline');
  await expect(head.getByTestId('headline-accuracy')).toHaveText(pct(total.accuracy));
  await expect(head.getByTestId('headline-interval')).toHaveText(
    `95% CI ${pct(total.wilson.low)}–${pct(total.wilson.high)}`,
  );
  await expect(head.getByTestId('headline-dtype')).toHaveText('fp32');
  await expect(head.getByTestId('headline-device')).toHaveText('wasm');
  await expect(head.getByTestId('headline-official')).toHaveText('✓ Official protocol');
  await expect(head.getByTestId('headline-done')).toContainText(
    `${results.length} / ${run.length} done · ${summary.total.errors} with errors`,
  );
  const counts = view.getByTestId('output-counts');
  await expect(counts.locator('dd').nth(0)).toHaveText(String(summary.total.unparseable));
  await expect(counts.locator('dd').nth(2)).toHaveText(String(summary.total.errors));
  // One bar per group row with a result (total + 3 levels + L3 domains).
  const groups = 1 + summary.levels.length + summary.domains.length;
  await expect(view.locator('svg.accuracy-chart rect.bar')).toHaveCount(groups);
  // Lenient and letter log-probs ran for some questions: every mode side by side.
  const modes = view.getByTestId('modes-table');
  await expect(modes.locator('tr', { hasText: 'L1' }).locator('td').nth(2)).toHaveText(
    `${pct(summary.levels[0]!.byMode.letters!.accuracy)} (n ${summary.levels[0]!.byMode.letters!.n})`,
  );
  await fullPageShot(page, 'test-results/screenshots/results-view.png');

  // Exports: the official L1 file is byte-identical to the bench export of the same results.
  const l1Results = results.filter((r) => r.level === 'L1');
  const [jsonl] = await Promise.all([
    page.waitForEvent('download'),
    view.getByRole('button', { name: /Official results L1/ }).click(),
  ]);
  expect(jsonl.suggestedFilename()).toMatch(/_L1\.jsonl$/);
  const jsonlText = readFileSync(await jsonl.path(), 'utf8');
  expect(jsonlText).toBe(toOfficialJsonl(l1, l1Results).jsonl);
  const [csv] = await Promise.all([
    page.waitForEvent('download'),
    view.getByRole('button', { name: /CSV/ }).click(),
  ]);
  expect(
    readFileSync(await csv.path(), 'utf8')
      .trimEnd()
      .split('\r\n'),
  ).toHaveLength(results.length + 1);
  const [sum] = await Promise.all([
    page.waitForEvent('download'),
    view.getByRole('button', { name: /Summary/ }).click(),
  ]);
  const sumJson = JSON.parse(readFileSync(await sum.path(), 'utf8')) as {
    summary: { total: { byMode: { official: { correct: number } } } };
  };
  expect(sumJson.summary.total.byMode.official.correct).toBe(
    summary.total.byMode.official!.correct,
  );

  // Import a file written like the official Python script: every answer "A", one reward wrong.
  const lines = l1Results
    .filter((r) => r.response !== null)
    .map((r, i) => {
      const reward = r.gold === 'A' ? 1 : 0;
      return `{"sample_id": ${r.rawSampleId}, "prompt": [], "problem": "", "solution": "<answer>${r.gold}.</answer>", "response": "<think>x</think><answer>A</answer>", "reward": ${i === 0 ? 1 - reward : reward}.0}`;
    });
  await view.getByTestId('import-results').setInputFiles({
    name: 'python_L1.jsonl',
    mimeType: 'application/json',
    buffer: Buffer.from(`${lines.join('\n')}\n`),
  });
  await expect(view.getByTestId('import-report')).toContainText(
    `python_L1.jsonl: ${lines.length} lines, ${lines.length} scored against loaded questions; 1 lines’ reward`,
  );
  const b = l1Results
    .filter((r) => r.response !== null)
    .map((r) =>
      resultFrom(
        l1.find((s) => s.sampleId === r.sampleId)!,
        { response: '<answer>A</answer>' },
      ),
    );
  const ag = agreement(results, b);
  const table = view.getByTestId('agreement');
  const cell = (label: string) => table.locator('tr', { hasText: label }).locator('td').first();
  await expect(cell('Questions both answered')).toHaveText(String(ag.both));
  await expect(cell('Both right')).toHaveText(String(ag.bothRight));
  await expect(cell('Only A right')).toHaveText(String(ag.onlyA));
  await expect(cell('Only B right')).toHaveText(String(ag.onlyB));
  await expect(cell('Both wrong')).toHaveText(String(ag.bothWrong));
  await expect(cell('Same letter')).toHaveText(String(ag.sameLetter));
  // Shared questions only (the default): both series cover L1's answered questions.
  await expect(view.locator('svg.accuracy-chart rect.bar.series-1')).toHaveCount(3); // legend, all, L1
  await view
    .locator('.accuracy-chart')
    .screenshot({ path: 'test-results/screenshots/results-compare-chart.png' });
});

test('results: a stored past run is listed, shown, and compared question by question', async ({
  page,
}) => {
  await page.goto('/e2e/harness/results.html');
  await page.waitForFunction(() => 'harness' in window);
  // The past run answered the L2 questions and the L3 examples, always "B".
  const pastIds = [...l2, ...l3].map((s) => s.sampleId);
  const pastOutputs = Object.fromEntries(
    pastIds.map((id) => [id, { response: '<answer>B</answer>' }]),
  );
  await page.evaluate(
    ([f, o]) =>
      (
        window as unknown as { harness: { seedRun: (...a: unknown[]) => Promise<void> } }
      ).harness.seedRun(f, '/models/Qwen2-VL-2B-Instruct', o),
    [files, pastOutputs] as const,
  );
  const stored = await page.evaluate(
    ([f, ids, o, fr]) =>
      (window as unknown as { harness: { load: (...a: unknown[]) => number } }).harness.load(
        f,
        ids,
        o,
        fr,
      ),
    [files, run.map((s) => s.sampleId), outputs, frames] as const,
  );
  expect(stored).toBe(results.length);
  const view = page.getByRole('region', { name: 'Results' });
  const past = [...l2, ...l3].map((s) => resultFrom(s, { response: '<answer>B</answer>' }));

  // Compare with it: agreement on the questions both answered, accuracies on shared questions.
  await view
    .getByLabel('Run B')
    .selectOption({ label: 'harness · Qwen2-VL-2B-Instruct · q4 — finished' });
  const ag = agreement(results, past);
  const table = view.getByTestId('agreement');
  const cell = (label: string) => table.locator('tr', { hasText: label }).locator('td').first();
  await expect(cell('Questions both answered')).toHaveText(String(ag.both));
  await expect(cell('Only B right')).toHaveText(String(ag.onlyB));
  await expect(cell('Same letter')).toHaveText(String(ag.sameLetter));
  const shared = new Set(results.map((r) => r.sampleId));
  const l2Past = summarize(past.filter((r) => shared.has(r.sampleId))).levels.find(
    (g) => g.key === 'L2',
  )!;
  await expect(
    view.locator('[data-testid="accuracy-table"] tr[data-group="L2"] td').nth(5),
  ).toHaveText(`${pct(l2Past.byMode.official!.accuracy)} (n ${l2Past.byMode.official!.n})`);

  // Show the past run itself as A: its card in the run list, with its done/total and accuracy.
  const card = view
    .getByRole('list', { name: 'Runs' })
    .getByRole('button', { name: /Qwen2-VL-2B-Instruct/ });
  const pastOfficial = summarize(past).total.byMode.official!;
  await expect(card.getByTestId('run-done')).toHaveText(`${past.length} / ${past.length} done`);
  await expect(card.getByTestId('run-accuracy')).toHaveText(
    `${pct(pastOfficial.accuracy)} (n ${pastOfficial.n})`,
  );
  await card.click();
  await expect(card).toHaveAttribute('aria-current', 'true');
  await expect(view.getByTestId('headline-accuracy')).toHaveText(pct(pastOfficial.accuracy));
  // Stored without its questions (as older versions did) and its set not served: results only,
  // and the Inspector says why rather than "No questions yet".
  await expect(view.getByRole('note').first()).toContainText('questions of this run were not kept');
  await expect(page.getByRole('region', { name: 'Inspector' })).toContainText(
    'questions of this run were not kept',
  );
  await expect(view.getByTestId('results-progress')).toContainText(
    `${past.length} of ${past.length} questions finished`,
  );
  const all = summarize(past).total.byMode.official!;
  await expect(
    view.locator('[data-testid="accuracy-table"] tr[data-group="all"] td').nth(2),
  ).toHaveText(pct(all.accuracy));
});

test('inspector: filters, filmstrip, prompt, untrusted output, keyboard, live, run again', async ({
  page,
}) => {
  await open(page);
  const insp = page.getByRole('region', { name: 'Inspector' });
  const byId = Object.fromEntries(results.map((r) => [r.sampleId, r]));
  for (const f of FILTERS) {
    const n = run.filter((s) => passesFilter(f.id, byId[s.sampleId])).length;
    await expect(insp.locator('.filter', { hasText: f.label }).locator('.count')).toHaveText(
      String(n),
    );
  }
  const detail = insp.getByRole('article');
  const first = l1[0]!;
  await expect(detail.getByTestId('inspector-sample-id')).toHaveText(first.sampleId);
  // Six real clip frames with index and timestamp, then the still.
  await expect(detail.locator('.filmstrip figure')).toHaveCount(6);
  await expect(detail.locator('.filmstrip figcaption').nth(1)).toHaveText('#200.67 s');
  await expect(detail.locator('.still figcaption')).toHaveText('still (image)');
  const imgOk = await detail
    .locator('.filmstrip img')
    .first()
    .evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0);
  expect(imgOk).toBe(true);
  const prompt = detail.getByTestId('inspector-prompt');
  if (first.hasClip) {
    await expect(prompt).toContainText(
      '<|vision_start|><|video_pad|><|vision_end|><|vision_start|><|image_pad|><|vision_end|>',
    );
    await expect(detail).toContainText('243 tokens (n = 6 frames)');
  }
  await expect(prompt).toContainText(
    'Considering the progress shown in the video and my current observation shown in the image',
  );
  await fullPageShot(page, 'test-results/screenshots/inspector.png');

  // Keyboard: j / k move; keys typed into a select do not.
  await page.locator('body').press('j');
  await expect(detail.getByTestId('inspector-sample-id')).toHaveText(l1[1]!.sampleId);
  await page.keyboard.press('k');
  await expect(detail.getByTestId('inspector-sample-id')).toHaveText(first.sampleId);
  await page.getByLabel('Interval').focus();
  await page.keyboard.press('j');
  await expect(detail.getByTestId('inspector-sample-id')).toHaveText(first.sampleId);

  // Hostile markup in an output stays text.
  await insp.locator(`[data-sample-id="${l1[5]!.sampleId}"]`).click();
  const out = detail.locator('.output-text');
  await expect(out).toContainText('<img src=x onerror="window.__xss=1"><script>');
  await expect(out.locator('img, script')).toHaveCount(0);
  expect(
    await page.evaluate(() => (window as unknown as { __xss?: number }).__xss),
  ).toBeUndefined();
  await expect(out.locator('.out-answer.out-official')).toHaveText(
    `<answer>${l1[5]!.gold}</answer>`,
  );

  // Unparseable filter: the first is "Option X" in a tag, the lenient extractor's letter shown.
  await insp.locator('.filter', { hasText: 'Unparseable' }).click();
  await expect(detail.getByTestId('inspector-status')).toHaveText('unparseable (scored 0)');
  await expect(detail.getByTestId('inspector-answer')).toContainText(
    `${l1[2]!.gold} via tag-letter, reward 1`,
  );
  // Per-choice scores of a question with letter log-probs and NLLs.
  await insp.locator('.filter', { hasText: 'All' }).click();
  await insp.locator(`[data-sample-id="${l1[4]!.sampleId}"]`).click();
  const scores = detail.getByTestId('choice-scores');
  await expect(scores.locator('tbody tr').nth(1).locator('td').nth(1)).toHaveText(
    Math.exp(-0.6).toPrecision(3),
  );
  await expect(scores.locator('tbody tr').nth(1).locator('td').nth(3)).toHaveText('1.870');
  await insp.screenshot({ path: 'test-results/screenshots/inspector-scores.png' });

  // Errors.
  await insp.locator('.filter', { hasText: 'Errors' }).click();
  await expect(detail.getByTestId('inspector-error')).toContainText(
    'clip stage failed: missing file',
  );

  // Live: following the running question shows its streamed text; Run again waits for it.
  await insp.locator('.filter', { hasText: 'All' }).click();
  const liveId = [...notRun][0]!;
  await page.evaluate(
    (id) =>
      (window as unknown as { harness: { setLive: (l: unknown) => void } }).harness.setLive({
        sampleId: id,
        stage: 'model',
        text: '<think>The person is holding',
        tokens: 6,
      }),
    liveId,
  );
  await insp.getByLabel('follow the running question').check();
  await expect(detail.getByTestId('inspector-sample-id')).toHaveText(liveId);
  await expect(detail.locator('.output-text .out-think.out-open')).toHaveText(
    '<think>The person is holding',
  );
  await expect(detail.getByRole('button', { name: 'Run again' })).toBeDisabled();
  await insp.screenshot({ path: 'test-results/screenshots/inspector-live.png' });
  await page.evaluate(() =>
    (window as unknown as { harness: { setLive: (l: unknown) => void } }).harness.setLive(null),
  );
  await insp.locator(`[data-sample-id="${l2[0]!.sampleId}"]`).click();
  await detail.getByRole('button', { name: 'Run again' }).click();
  expect(
    await page.evaluate(
      () => (window as unknown as { harness: { reruns: string[] } }).harness.reruns,
    ),
  ).toEqual([l2[0]!.sampleId]);
});

test('results and inspector at full size: all 3,355 EgoPlan validation questions', async ({
  page,
}) => {
  await page.goto('/e2e/harness/results.html');
  await page.waitForFunction(() => 'harness' in window);
  const big = all.filter((s) => s.format === 'egoplan-json');
  // Every 3rd right, the rest a fixed wrong letter: a known accuracy per level.
  const bigOut = Object.fromEntries(
    big.map((s, i) => [
      s.sampleId,
      { response: `<answer>${i % 3 === 0 ? s.gold : wrongOf(s)}</answer>` },
    ]),
  );
  const ms = await page.evaluate(
    ([f, ids, o]) => {
      const t0 = performance.now();
      (window as unknown as { harness: { load: (...a: unknown[]) => number } }).harness.load(
        f,
        ids,
        o,
        [],
      );
      return new Promise<number>((r) =>
        requestAnimationFrame(() => setTimeout(() => r(performance.now() - t0))),
      );
    },
    [files, big.map((s) => s.sampleId), bigOut] as const,
  );
  const s = summarize(big.map((x) => resultFrom(x, bigOut[x.sampleId]!)));
  const view = page.getByRole('region', { name: 'Results' });
  for (const g of s.levels) {
    await expect(
      view.locator(`[data-testid="accuracy-table"] tr[data-group="${g.key}"] td`).nth(2),
    ).toHaveText(pct(g.byMode.official!.accuracy));
  }
  const insp = page.getByRole('region', { name: 'Inspector' });
  await expect(insp.locator('.inspector-list button')).toHaveCount(big.length);
  await page.keyboard.press('j');
  await expect(insp.getByTestId('inspector-sample-id')).toHaveText(big[1]!.sampleId);
  type Timer = { harness: { timeUpdates: (...a: unknown[]) => Promise<number> } };
  const perToken = await page.evaluate(
    (id) => (window as unknown as Timer).harness.timeUpdates('live', id, 100),
    big[2]!.sampleId,
  );
  const perResult = await page.evaluate(
    (id) => (window as unknown as Timer).harness.timeUpdates('results', id, 20),
    big[2]!.sampleId,
  );
  const idle = await page.evaluate(
    (id) => (window as unknown as Timer).harness.timeUpdates('none', id, 100),
    big[2]!.sampleId,
  );
  console.log(
    `results harness, 3,355 questions, ms from update to next frame: live token ${perToken.toFixed(1)}, finished question ${perResult.toFixed(1)}, no update ${idle.toFixed(1)}`,
  );
  // Reported, not asserted: how long parsing, scoring and the first render of both views took.
  test
    .info()
    .annotations.push({ type: 'load+render ms (3,355 questions)', description: ms.toFixed(0) });
  console.log(`results harness: load + first render of 3,355 questions: ${ms.toFixed(0)} ms`);
});
