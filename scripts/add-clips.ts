/**
 * npm run add-clips -- [clip folder] [built app folder]
 *
 * Puts demo clips beside a built app for a static host: copies the clip folder (default: the 12
 * EgoPlan-Bench2 example clips in ../shared/seedbench/egoplan-bench2-examples) into
 * <app>/demo-videos/ (default app folder: dist) and writes the index.json listing that the app
 * reads there, since a static host cannot list a folder. The Videos step then offers them as
 * "Use the demo clips", as the local servers do.
 */
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listFiles } from './list-files.ts';

const root = resolve(import.meta.dirname, '..');

/** Copies `from` into `<app>/demo-videos/` with its index.json; returns the number of files. */
export function addClips(from: string, app: string): number {
  if (!existsSync(from)) throw new Error(`${from}: no such folder`);
  if (!existsSync(join(app, 'index.html'))) {
    throw new Error(`${app}: no index.html there (build the app first: npm run build)`);
  }
  const to = join(app, 'demo-videos');
  cpSync(from, to, { recursive: true });
  // A dangling link or a loop among the clips is named and left out of the listing.
  const files = listFiles(to, (e) => console.warn(`${e.path}: ${e.reason}; left out`)).filter(
    (f) => f !== 'index.json' && !f.split('/').pop()?.startsWith('.'),
  );
  writeFileSync(join(to, 'index.json'), JSON.stringify({ files }));
  return files.length;
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const from = resolve(
    process.argv[2] ?? join(root, '../shared/seedbench/egoplan-bench2-examples'),
  );
  const app = resolve(process.argv[3] ?? join(root, 'dist'));
  try {
    const n = addClips(from, app);
    console.log(
      `add-clips: ${n} files from ${from} -> ${join(app, 'demo-videos')}/ (+ index.json)`,
    );
  } catch (e) {
    console.error(`add-clips: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
