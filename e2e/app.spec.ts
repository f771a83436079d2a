import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { parseBenchmarkFile, problemText } from '../src/bench/index';
import { protocolPrompt, sha256 } from './protocol-prompt';
import { fullPageShot } from './screenshot';
import { storedRows } from './stored';

// The evaluation app end to end, with the real tiny model (wasm), the real decoder and the 12 real
// EgoPlan-Bench2 example questions and clips from ../shared.

const EXAMPLES = resolve(import.meta.dirname, '../../shared/seedbench/egoplan-bench2-examples');
const SET = 'egoplan-bench2-examples-L3';
const SHOTS = 'test-results/screenshots';

interface ExampleLine {
  sample_id: string;
  video_basename: string;
}
const examples: ExampleLine[] = readFileSync(join(EXAMPLES, 'examples.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as ExampleLine);

/** A video folder with 10 good clips, one truncated clip and one clip missing. */
function brokenFolder(): { dir: string; corrupt: ExampleLine; missing: ExampleLine } {
  const dir = resolve('test-results/videos-broken');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const corrupt = examples[3]!;
  const missing = examples[7]!;
  for (const e of examples) {
    if (e === missing) continue;
    const target = join(dir, e.video_basename);
    if (e === corrupt) {
      const bytes = readFileSync(join(EXAMPLES, e.video_basename));
      writeFileSync(target, bytes.subarray(0, Math.floor(bytes.length / 3)));
    } else copyFileSync(join(EXAMPLES, e.video_basename), target);
  }
  return { dir, corrupt, missing };
}

async function setUp(
  page: Page,
  opts: { folder?: string; limit?: number; goto?: boolean; dtype?: 'fp32' | 'auto' } = {},
) {
  if (opts.goto === false) await page.getByRole('button', { name: 'Run', exact: true }).click();
  else await page.goto('/?view=run');
  const model = page.getByRole('group', { name: 'Model' });
  await model.getByLabel('device').selectOption('wasm');
  // 'auto' is the model step's default: left as it is.
  if (opts.dtype === 'auto') await expect(model.getByLabel('dtype')).toHaveValue('auto');
  else await model.getByLabel('dtype').selectOption('fp32');
  await model.getByRole('button', { name: 'Load model' }).click();
  await expect(model.getByTestId('model-status')).toContainText('on wasm', { timeout: 120_000 });
  const bench = page.getByRole('group', { name: 'Benchmark' });
  await bench.getByLabel('Benchmark set').selectOption(SET);
  if (opts.limit) {
    await bench.getByLabel('First N questions').fill(String(opts.limit));
    await bench.getByLabel('First N questions').click();
  }
  const videos = page.getByRole('group', { name: 'Videos' });
  if (opts.folder) await videos.getByLabel('Video folder').setInputFiles(opts.folder);
  else await videos.getByRole('button', { name: 'Use the demo clips' }).click();
}

async function waitForStatus(page: Page, status: string, timeout = 600_000) {
  await expect(page.getByTestId('run-status')).toHaveText(status, { timeout });
}

async function storedResults(page: Page): Promise<{ sampleId: string; finishedAt: string }[]> {
  const rows = await storedRows<{ sampleId: string; finishedAt: string }>(page, 'results');
  return rows.map((r) => ({ sampleId: r.sampleId, finishedAt: r.finishedAt }));
}

/** Every stored run's key and settings, as the runs slice wrote them to IndexedDB. */
interface StoredRun {
  key: string;
  settings: {
    key: string;
    model: { dtype: string; q4Int8?: string; files: { path: string }[] };
  } | null;
  resume: { model: { dtype: string } | null } | null;
}
async function storedRuns(page: Page): Promise<StoredRun[]> {
  return storedRows<StoredRun>(page, 'runs');
}

/** Every stored result, as the runner wrote it to IndexedDB. */
interface StoredRecord {
  runKey: string;
  sampleId: string;
  response: string | null;
  frameIndices: number[] | null;
  modelPrompt: { wording: string; tokens: number; sha256: string } | null;
  ranOn: { device: string; dtype: string; engine: string; family?: string } | null;
}
async function storedRecords(page: Page): Promise<StoredRecord[]> {
  return storedRows<StoredRecord>(page, 'results');
}

const FIXTURE_5 = JSON.parse(readFileSync('e2e/fixtures/reference/still-sample5.json', 'utf8')) as {
  prompt_text: string;
  prompt_tokens: number;
  pytorch: { greedy_text: string };
};
const RECORD_5 = JSON.stringify(
  (
    JSON.parse(readFileSync(resolve(EXAMPLES, '../EgoPlan_validation.json'), 'utf8')) as {
      sample_id: number;
    }[]
  ).filter((r) => r.sample_id === 5),
);

async function loadTinyModel(page: Page) {
  const model = page.getByRole('group', { name: 'Model' });
  await model.getByLabel('device').selectOption('wasm');
  await model.getByLabel('dtype').selectOption('fp32');
  await model.getByRole('button', { name: 'Load model' }).click();
  await expect(model.getByTestId('model-status')).toContainText('on wasm', { timeout: 120_000 });
}

async function pickAnnotationFile(page: Page, text: string) {
  await page
    .getByRole('group', { name: 'Benchmark' })
    .getByLabel('Annotation file', { exact: true })
    .setInputFiles({
      name: 'EgoPlan_validation.json',
      mimeType: 'application/json',
      buffer: Buffer.from(text),
    });
}

/**
 * EgoPlan-Bench sample 5 (still only) as a picked annotation file, its still in a picked folder
 * (the protocol's images/<source>/ path), the tiny model on wasm, a fresh IndexedDB.
 */
async function openSample5(page: Page, maxNewTokens: number, loadModel = loadTinyModel) {
  const dir = resolve('test-results/stills-sample5');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'images/EpicKitchens'), { recursive: true });
  copyFileSync('e2e/fixtures/reference/still-sample5.png', join(dir, 'images/EpicKitchens/5.png'));
  const [sample] = parseBenchmarkFile('EgoPlan_validation.json', RECORD_5).samples;
  await page.goto('/');
  await page.evaluate(() => indexedDB.deleteDatabase('seedbench-web'));
  await page.goto('/?view=run');
  await loadModel(page);
  await pickAnnotationFile(page, RECORD_5);
  const bench = page.getByRole('group', { name: 'Benchmark' });
  await bench.getByLabel('Max new tokens').fill(String(maxNewTokens));
  await page.getByRole('group', { name: 'Videos' }).getByLabel('Video folder').setInputFiles(dir);
  await expect(page.getByTestId('media-summary')).toContainText(
    '1 of 1 questions have their files',
  );
  return { bench, sample: sample!, fixture: FIXTURE_5 };
}

test.describe.configure({ mode: 'serial' });

test('a full run of the 12 examples, reloaded in the middle and resumed', async ({ page }) => {
  // The model step's defaults for dtype: 'auto' resolves to q8 on wasm (its MatMulInteger is the
  // fast kernel there, src/model/dtype-choice.ts), the status says why, and the run is q8's.
  await setUp(page, { dtype: 'auto' });
  await expect(page.getByTestId('model-status')).toContainText(
    "q8 (auto: q8 among the fast graphs (fp32, q8, q4), the wasm default (q8's MatMulInteger runs 4-17x faster than q4's MatMulNBits on wasm)) on wasm",
  );
  // The tiny folder has the fast graphs: the status says which engine runs.
  await expect(page.getByTestId('model-engine')).toHaveText('fast engine');
  await expect(page.getByTestId('media-summary')).toContainText(
    '12 of 12 questions have their files',
  );
  await fullPageShot(page, `${SHOTS}/run-setup.png`);
  await page.getByRole('button', { name: /Start run/ }).click();
  // Reload once a few questions are stored: nothing finished may be lost or redone.
  await expect
    .poll(async () => (await storedResults(page)).length, { timeout: 300_000 })
    .toBeGreaterThanOrEqual(3);
  await fullPageShot(page, `${SHOTS}/run-progress.png`);
  await page.reload();
  const before = await storedResults(page);
  expect(before.length).toBeGreaterThanOrEqual(3);

  // One click: the stored run brings back its set, settings, model and (served) videos.
  await page.goto('/?view=run');
  const unfinished = page.getByRole('region', { name: 'Unfinished runs' });
  await expect(unfinished).toContainText(`${before.length} / 12`);
  await fullPageShot(page, `${SHOTS}/run-unfinished.png`);
  await unfinished.getByRole('button', { name: 'Resume' }).first().click();
  await expect(page.getByRole('list', { name: 'Run messages' })).toContainText(
    `Resumed: ${before.length} of 12 already done.`,
  );
  // The Model step shows the model Resume loaded (asked for wasm, runs on wasm), not its defaults.
  const model = page.getByRole('group', { name: 'Model' });
  await expect(model.getByLabel('device')).toHaveValue('wasm');
  await expect(model.getByLabel('dtype')).toHaveValue('q8');
  await expect(model.getByTestId('device-runs')).toHaveText('runs on wasm');
  await waitForStatus(page, 'finished');
  await expect(page.getByTestId('run-progress')).toContainText('12 / 12');
  const after = await storedResults(page);
  expect(after).toHaveLength(12);
  // One run: the resume loaded the dtype the run had resolved from 'auto' (so its request is q8
  // now), and the key and settings name q8 and the q8 graph files that ran, never 'auto'.
  const [stored, ...others] = await storedRuns(page);
  expect(others).toHaveLength(0);
  expect(stored?.resume?.model?.dtype).toBe('q8');
  expect(stored?.settings?.model.dtype).toBe('q8');
  expect(stored?.key).toContain(' | q8 | ');
  expect(stored?.key).not.toContain('auto');
  const graphs = stored?.settings?.model.files.map((f) => f.path).filter((p) => p.includes('onnx'));
  // The tiny folder has the fast graphs, so engine 'auto' (the app's default) ran them: the run's
  // identity digests what that engine read (its manifest, its graphs, the data they share).
  expect(graphs?.sort()).toEqual([
    'onnx/decoder_fast_q8.onnx',
    // The fast q8 decoder's external data: the reference q8 graphs' bytes (embedding, int8 weights).
    'onnx/decoder_model_merged_quantized.onnx',
    'onnx/embed_tokens_quantized.onnx',
    'onnx/fast.json',
    'onnx/vision_encoder_quantized.onnx', // the reference q8 vision graph, run per temporal slice
  ]);
  // What the model got, as the worker recorded it where it tokenized: the official wording, and
  // the hash of the official template rendered here for that wording and frame count.
  const samples = parseBenchmarkFile(
    'examples.jsonl',
    readFileSync(join(EXAMPLES, 'examples.jsonl'), 'utf8'),
  ).samples;
  for (const r of await storedRecords(page)) {
    const sample = samples.find((x) => x.sampleId === r.sampleId)!;
    const frames = r.frameIndices?.length ?? 0;
    expect(r.modelPrompt?.wording).toBe('seed-bench-r1');
    expect(r.modelPrompt?.sha256).toBe(
      sha256(protocolPrompt(problemText(sample, 'seed-bench-r1'), frames)),
    );
    // Where it ran, as the model reported it for this question (not what the load asked for).
    expect(r.ranOn).toEqual({ device: 'wasm', dtype: 'q8', engine: 'fast', family: 'qwen2_vl' });
  }
  for (const b of before) {
    expect(after.find((a) => a.sampleId === b.sampleId)?.finishedAt).toBe(b.finishedAt);
  }
  await fullPageShot(page, `${SHOTS}/run-finished.png`);

  // Results: the table, then the three exports, downloaded and parsed.
  await page.getByRole('button', { name: 'Results', exact: true }).click();
  const table = page.getByTestId('accuracy-table');
  await expect(table).toContainText('L3');
  await expect(table).toContainText('Daily life');
  await fullPageShot(page, `${SHOTS}/results.png`);
  const exports = page.getByTestId('exports');
  const download = async (name: RegExp) => {
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      exports.getByRole('button', { name }).click(),
    ]);
    return readFileSync(await file.path(), 'utf8');
  };
  const official = (await download(/Official results L3/)).trimEnd().split('\n');
  expect(official).toHaveLength(12);
  for (const line of official) {
    const r = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(r)).toEqual([
      'sample_id',
      'prompt',
      'problem',
      'solution',
      'response',
      'reward',
    ]);
    expect(examples.map((e) => e.sample_id)).toContain(r.sample_id);
    expect(line).toMatch(/"reward": [01]\.0\}$/);
  }
  const csv = (await download(/CSV/)).trimEnd().split('\r\n');
  expect(csv).toHaveLength(13);
  expect(csv[0]).toMatch(/^sample_id,level,/);
  const summary = JSON.parse(await download(/Summary/i)) as {
    questions: number;
    summary: { total: { questions: number; byMode: { official?: { n: number } } } };
  };
  expect(summary.questions).toBe(12);
  expect(summary.summary.total.byMode.official?.n).toBe(12);

  // Inspector: the frames the model saw and what it said, for the last question run.
  await page.getByRole('button', { name: 'Inspector', exact: true }).click();
  const last = examples.at(-1)!;
  await page
    .getByRole('button', { name: new RegExp(last.sample_id.slice(0, 8)) })
    .first()
    .click();
  await expect(page.getByTestId('inspector-sample-id')).toHaveText(last.sample_id);
  const strip = page.getByRole('list', { name: /sampled clip frames/ });
  await expect(strip.getByRole('img')).not.toHaveCount(0);
  await expect(page.getByRole('img', { name: 'current observation' })).toBeVisible();
  await expect(page.getByTestId('inspector-prompt')).toContainText('<|video_pad|>');
  await fullPageShot(page, `${SHOTS}/inspector.png`);
});

test('a corrupt clip and a missing clip are reported while the others finish', async ({ page }) => {
  const { dir, corrupt, missing } = brokenFolder();
  await page.goto('/');
  await page.evaluate(() => indexedDB.deleteDatabase('seedbench-web'));
  await setUp(page, { folder: dir });
  await expect(page.getByTestId('media-summary')).toContainText(
    '11 of 12 questions have their files',
  );
  await expect(page.getByRole('group', { name: 'Videos' })).toContainText(missing.video_basename);
  await page.getByRole('button', { name: /Start run/ }).click();
  await waitForStatus(page, 'finished');
  const messages = page.getByRole('list', { name: 'Run messages' });
  await expect(messages).toContainText(`${missing.sample_id}: clip`);
  await expect(messages).toContainText(`${corrupt.sample_id}: clip`);
  await expect(messages).toContainText(corrupt.video_basename);
  await expect(page.getByTestId('run-progress')).toContainText('12 / 12 done · 2 with errors');
  await fullPageShot(page, `${SHOTS}/run-errors.png`);
});

test('offline: the app shell, benchmark sets and cached model work with the network off', async ({
  page,
  context,
}) => {
  // First visit online: the service worker keeps the shell and sets, the model loader keeps the
  // model files in Cache Storage.
  await setUp(page, { limit: 2 });
  await expect(page.getByTestId('model-status')).toContainText('from network');
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  const cachedModelFiles = await page.evaluate(async () => {
    const names: string[] = [];
    for (const n of await caches.keys()) {
      for (const r of await (await caches.open(n)).keys()) names.push(r.url);
    }
    return names.filter((u) => u.includes('/models/')).length;
  });
  expect(cachedModelFiles).toBeGreaterThanOrEqual(6);
  await context.setOffline(true);
  await page.goto('/?set=egoplan-bench2-examples-L3');
  await expect(page.getByRole('article').getByTestId('sample-id')).toHaveText(
    examples[0]!.sample_id,
  );
  await fullPageShot(page, `${SHOTS}/offline.png`);
  // Still offline: load the cached model and run two questions from a local folder.
  const { dir } = brokenFolder();
  await setUp(page, { folder: dir, limit: 2, goto: false });
  // configs (config, generation, preprocessor), tokenizer (2), the fast engine's manifest, its two
  // graphs and the embedding they share (embed_tokens.onnx): all from the cache.
  await expect(page.getByTestId('model-status')).toContainText('9 files: 9 from cache');
  await page.getByRole('button', { name: /Start run|Run again/ }).click();
  await waitForStatus(page, 'finished');
  await expect(page.getByTestId('run-progress')).toContainText('2 / 2');
  await context.setOffline(false);
});

test('each wording reaches the model through the app; sample 5 in SEED-Bench-R1 wording equals PyTorch', async ({
  page,
}) => {
  const { bench, sample, fixture } = await openSample5(page, 32);

  // The official wording (the default): the prompt PyTorch got, and its greedy tokens.
  await page.getByRole('button', { name: /Start run/ }).click();
  await waitForStatus(page, 'finished', 120_000);
  const [seed] = await storedRecords(page);
  const reference = fixture.prompt_text.replace('<|image_pad|>', '<|image_pad|>'.repeat(81));
  expect(seed?.modelPrompt).toEqual({
    wording: 'seed-bench-r1',
    tokens: fixture.prompt_tokens,
    sha256: sha256(reference),
    clipTokens: null,
    stillTokens: 81,
  });
  expect(seed?.response).toBe(fixture.pytorch.greedy_text);

  // The file's own wording: another run (another key), and the model gets that text.
  await bench.getByLabel('Question wording').selectOption('as-is');
  await page.getByRole('button', { name: /Run again/ }).click();
  // The status reads 'finished' from the first run until this one starts: wait for its record.
  await expect.poll(async () => (await storedRecords(page)).length, { timeout: 120_000 }).toBe(2);
  await waitForStatus(page, 'finished', 120_000);
  const asIs = (await storedRecords(page)).find((r) => r.runKey !== seed?.runKey);
  expect(asIs?.modelPrompt?.wording).toBe('as-is');
  expect(asIs?.modelPrompt?.sha256).toBe(
    sha256(protocolPrompt(problemText(sample, 'as-is'), null)),
  );
  expect(asIs?.modelPrompt?.sha256).not.toBe(seed?.modelPrompt?.sha256);

  // The Inspector and the official export say what the model got, for this run.
  await page.getByRole('button', { name: 'Inspector', exact: true }).click();
  await expect(page.getByTestId('inspector-prompt-record')).toContainText(
    `wording as-is, ${asIs?.modelPrompt?.tokens} tokens, sha256 ${asIs?.modelPrompt?.sha256.slice(0, 16)}`,
  );
  await expect(page.getByTestId('inspector-prompt-record')).toContainText('equals this text');
  await expect(page.getByTestId('inspector-prompt')).toContainText('in the last frame');
  await page.getByRole('button', { name: 'Results', exact: true }).click();
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page
      .getByTestId('exports')
      .getByRole('button', { name: /Official results L1/ })
      .click(),
  ]);
  const line = JSON.parse(readFileSync(await file.path(), 'utf8')) as { problem: string };
  expect(line.problem).toBe(problemText(sample, 'as-is'));
});

test.describe('run identity by content', () => {
  // Model files must come from the server here (the test changes one), not a service worker.
  test.use({ serviceWorkers: 'block' });

  test('the same names with other model bytes or other annotation records start a new run, and say why', async ({
    page,
  }) => {
    await openSample5(page, 2);
    const messages = page.getByRole('list', { name: 'Run messages' });
    await page.getByRole('button', { name: /Start run/ }).click();
    await expect.poll(async () => (await storedRecords(page)).length, { timeout: 60_000 }).toBe(1);
    await waitForStatus(page, 'finished', 60_000);

    // Same folder name, one file changed (config.json with one more key): another run.
    await page.evaluate(() => caches.delete('seedbench-models-v1'));
    await page.route('**/models/tiny-random-qwen2-vl/config.json', async (route) => {
      const original = (await (await route.fetch()).json()) as Record<string, unknown>;
      await route.fulfill({ json: { ...original, note: 'edited' } });
    });
    await loadTinyModel(page);
    await page.getByRole('button', { name: /Run again/ }).click();
    await expect(messages).toContainText("the model's files differ from the run's (config.json;");
    await expect(messages).toContainText('Starting a new run.');
    await expect(messages).not.toContainText('Resumed');
    await expect.poll(async () => (await storedRecords(page)).length, { timeout: 60_000 }).toBe(2);
    await waitForStatus(page, 'finished', 60_000);

    // Same file name, one choice edited: another run again.
    await pickAnnotationFile(page, RECORD_5.replace('"open tap"', '"open the tap"'));
    await page.getByRole('button', { name: /Run again|Start run/ }).click();
    await expect(messages).toContainText(
      'the annotation records of EgoPlan_validation.json differ',
    );
    await expect.poll(async () => (await storedRecords(page)).length, { timeout: 60_000 }).toBe(3);
    const keys = new Set((await storedRecords(page)).map((r) => r.runKey));
    expect(keys.size).toBe(3);
  });
});

test('the activations choice reaches the loader: int8 asked on wasm loads the exact q4 graphs, says why, and the run records what ran', async ({
  page,
}) => {
  await openSample5(page, 2, async () => {
    const model = page.getByRole('group', { name: 'Model' });
    const activations = model.getByLabel('activations');
    // The default follows the app's load settings and says which it is.
    await expect(activations).toHaveValue('default');
    await expect(activations.locator('option:checked')).toHaveText(/^default: /);
    await model.getByLabel('device').selectOption('wasm');
    await model.getByLabel('dtype').selectOption('q4');
    await activations.selectOption({ label: 'int8: every run' });
    await model.getByRole('button', { name: 'Load model' }).click();
    await expect(model.getByTestId('model-status')).toContainText('q4', { timeout: 120_000 });
    // Decided where it is used (the fast engine, src/model/fast/engine.ts int8Unused): wasm has no
    // int8 kernel, so the exact q4 graphs loaded, and the Loaded line says why.
    await expect(model.getByTestId('model-int8')).toHaveText(
      "int8 activations (all) not used: onnxruntime-web's wasm build has no int8 MatMulNBits kernel (exact q4 graphs loaded)",
    );
    await expect(activations).toHaveValue('all');
  });
  await page.getByRole('button', { name: /Start run/ }).click();
  await waitForStatus(page, 'finished', 120_000);
  // The run's identity: what ran (exact q4 graphs, q4Int8 off), not what was asked.
  const [run, ...others] = await storedRuns(page);
  expect(others).toHaveLength(0);
  expect(run?.settings?.model.q4Int8).toBe('off');
  expect(run?.key).toContain(' | q4 | ');
  expect(run?.key).not.toContain('int8');
  const graphs = run?.settings?.model.files.map((f) => f.path).filter((p) => p.includes('_fast_'));
  expect(graphs?.sort()).toEqual(['onnx/decoder_fast_q4.onnx', 'onnx/vision_fast_q4.onnx']);
});
