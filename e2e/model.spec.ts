import { expect, test, type Page } from '@playwright/test';

// The model stage in real Chromium: transformers.js + onnxruntime-web in the model worker.

interface HarnessError {
  ok: false;
  error: { code: string; message: string; file?: string };
}

async function openHarness(page: Page) {
  await page.goto('/e2e/harness/model.html');
  await page.waitForFunction(
    () => (window as unknown as { modelHarness?: { ready: boolean } }).modelHarness?.ready,
  );
}

const QWEN_CONFIG = {
  model_type: 'qwen2_vl',
  architectures: ['Qwen2VLForConditionalGeneration'],
  image_token_id: 151655,
  video_token_id: 151656,
  vision_start_token_id: 151652,
  vision_config: { spatial_merge_size: 2 },
};

test.describe('model loading errors', () => {
  test('a config of another architecture is refused by name', async ({ page }) => {
    await page.route('**/fake-model/**', (route) =>
      route.request().url().endsWith('/config.json')
        ? route.fulfill({
            json: { ...QWEN_CONFIG, model_type: 'llama', architectures: ['LlamaForCausalLM'] },
          })
        : route.fulfill({ status: 404 }),
    );
    await openHarness(page);
    const out = (await page.evaluate(() =>
      (
        window as never as { modelHarness: { load(a: unknown): Promise<unknown> } }
      ).modelHarness.load({
        from: '/fake-model/',
        dtype: 'fp32',
        device: 'wasm',
      }),
    )) as HarnessError;
    expect(out.ok).toBe(false);
    expect(out.error.code).toBe('wrong-architecture');
    expect(out.error.message).toContain('llama');
  });

  test('a folder missing a file names the file', async ({ page }) => {
    await page.route('**/fake-model/**', (route) =>
      route.request().url().endsWith('/config.json')
        ? route.fulfill({ json: QWEN_CONFIG })
        : route.fulfill({ status: 404 }),
    );
    await openHarness(page);
    const out = (await page.evaluate(() =>
      (
        window as never as { modelHarness: { load(a: unknown): Promise<unknown> } }
      ).modelHarness.load({
        from: '/fake-model/',
        dtype: 'q4',
        device: 'wasm',
      }),
    )) as HarnessError;
    expect(out.ok).toBe(false);
    expect(out.error.code).toBe('missing-file');
    expect(out.error.file).toBe('tokenizer.json');
  });
});
