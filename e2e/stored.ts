import type { Page } from '@playwright/test';

/**
 * Every row of one of the app's IndexedDB stores, read in the page from the app's own database
 * (the connection is closed after, so it never blocks the app's upgrades).
 */
export async function storedRows<T>(page: Page, store: 'runs' | 'results'): Promise<T[]> {
  const rows = await page.evaluate(
    (name) =>
      new Promise<unknown[]>((done, fail) => {
        const req = indexedDB.open('seedbench-web');
        req.onsuccess = () => {
          const all = req.result.transaction(name).objectStore(name).getAll();
          all.onsuccess = () => {
            done(all.result);
            req.result.close();
          };
          all.onerror = () => fail(all.error ?? new Error('IndexedDB getAll failed'));
        };
        req.onerror = () => fail(req.error ?? new Error('IndexedDB open failed'));
      }),
    store,
  );
  return rows as T[];
}
