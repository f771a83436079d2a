import { expect, test } from '@playwright/test';
import { fullPageShot } from './screenshot';

// The first screen: the sets of public/benchmarks/manifest.json (built by `npm run
// fetch-benchmarks -- --from ../shared/seedbench` before the tests) and a question browser.

test('lists the benchmark sets with their counts and browses questions', async ({ page }) => {
  await page.goto('/');
  const sets = page.getByRole('region', { name: 'Benchmark sets' });
  const count = (id: string) =>
    sets.locator(`[data-set-id="${id}"] [data-testid="question-count"]`);
  await expect(count('egoplan-validation-L1')).toHaveText('2432');
  await expect(count('egoplan-validation-L2')).toHaveText('923');
  await expect(count('egoplan-bench2-examples-L3')).toHaveText('12');

  await sets.locator('[data-set-id="egoplan-validation-L1"]').click();
  const detail = page.getByRole('article');
  await expect(detail.getByTestId('sample-id')).toHaveText('0');
  await page.getByRole('searchbox', { name: 'Filter questions' }).fill('store cereal');
  await page.locator('.question-row', { hasText: '115' }).first().click();
  await expect(detail.getByTestId('sample-id')).toHaveText('115');
  await expect(detail).toContainText('put cereal box into cupboard');
  await expect(detail.locator('.choice.gold')).toContainText('A. put cereal box into cupboard');
  await expect(page).toHaveURL(/set=egoplan-validation-L1&q=115/);

  // Keyboard: j / k move within the (now unfiltered) list.
  await page.getByRole('searchbox', { name: 'Filter questions' }).fill('');
  await page.locator('.app-header').click();
  await page.keyboard.press('j');
  await expect(detail.getByTestId('sample-id')).toHaveText('116');
  await page.keyboard.press('k');
  await expect(detail.getByTestId('sample-id')).toHaveText('115');
  await fullPageShot(page, 'test-results/screenshots/benchmarks-L1.png');
});

test('opens a set and question from the URL and shows L3 domains and clips', async ({ page }) => {
  await page.goto('/?set=egoplan-bench2-examples-L3&q=ec9fd60f-578b-4e29-b016-b6a424b064f4_3');
  const detail = page.getByRole('article');
  await expect(detail.getByTestId('sample-id')).toHaveText(
    'ec9fd60f-578b-4e29-b016-b6a424b064f4_3',
  );
  await expect(detail).toContainText('Daily life · commuting');
  await expect(detail.getByTestId('clip-name')).toHaveText(
    'videos/Ego4D/ec9fd60f-578b-4e29-b016-b6a424b064f4_QA-3.mp4',
  );
  await fullPageShot(page, 'test-results/screenshots/benchmarks-L3.png');
});
