import type { Page } from '@playwright/test';

/**
 * A full-page screenshot taken from the top: Chromium captures a scrolled page with its sticky
 * header drawn at the scroll offset, in the middle of the image.
 */
export async function fullPageShot(page: Page, path: string): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((done) => {
        window.scrollTo(0, 0);
        requestAnimationFrame(() => {
          done();
        });
      }),
  );
  await page.screenshot({ path, fullPage: true });
}
