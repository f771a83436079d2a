/**
 * npm run fetch-benchmarks [-- --from DIR] [--out DIR] [--if-missing]
 *
 * Builds the benchmark sets the app lists: reads annotation files (downloaded from the Hugging Face
 * dataset TencentARC/SEED-Bench-R1, or any supported file found under --from DIR), validates every
 * record, and writes one JSON file per level plus manifest.json under public/benchmarks/.
 *
 * --if-missing (npm start, npm test): keep an existing manifest, and when --from DIR does not
 * exist, say how to get the sets and exit 0, so that the app still starts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import {
  buildSets,
  formatRecordError,
  parseBenchmarkFile,
  type BenchmarkManifest,
  type BenchmarkSetInfo,
} from '../src/bench/index';

const HF_BASE = 'https://huggingface.co/datasets/TencentARC/SEED-Bench-R1/resolve/main/annotations';
const OFFICIAL_FILES = ['validation_L1.jsonl', 'validation_L2.jsonl', 'validation_L3.jsonl'];
/** File names worth reading when scanning a folder. */
const KNOWN =
  /^(validation_L[123]\.jsonl|EgoPlan_validation\.json|EgoPlan-Bench2\.json|examples\.jsonl)$/;

function parseArgs(argv: string[]) {
  const args = { from: null as string | null, out: 'public/benchmarks', ifMissing: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--from') args.from = argv[++i] ?? null;
    else if (a === '--out') args.out = argv[++i] ?? args.out;
    else if (a === '--if-missing') args.ifMissing = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run fetch-benchmarks -- [--from DIR] [--out DIR] [--if-missing]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

/** Supported annotation files under dir (three levels deep), or dir itself if it is a file. */
function findAnnotationFiles(dir: string, depth = 0): string[] {
  if (statSync(dir).isFile()) return [dir];
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory() && depth < 3 && name !== 'node_modules' && !name.startsWith('.')) {
      found.push(...findAnnotationFiles(p, depth + 1));
    } else if (st.isFile() && KNOWN.test(name)) found.push(p);
  }
  return found;
}

async function download(cacheDir: string): Promise<string[]> {
  mkdirSync(cacheDir, { recursive: true });
  const files: string[] = [];
  for (const name of OFFICIAL_FILES) {
    const target = join(cacheDir, name);
    if (!existsSync(target)) {
      const url = `${HF_BASE}/${name}`;
      process.stdout.write(`downloading ${url} ... `);
      const res = await fetch(url).catch((e: unknown) => {
        throw new Error(
          `cannot reach ${url} (${(e as Error).message}). Offline? Use --from DIR with local annotation files, e.g. --from ../shared/seedbench`,
        );
      });
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      writeFileSync(target, Buffer.from(await res.arrayBuffer()));
      console.log('done');
    }
    files.push(target);
  }
  return files;
}

function pad(s: string | number, n: number, right = false) {
  const t = String(s);
  return right ? t.padStart(n) : t.padEnd(n);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const outDir = resolve(args.out);
  const manifestPath = join(outDir, 'manifest.json');
  if (args.ifMissing && existsSync(manifestPath)) {
    console.log(`${relative('.', manifestPath)} exists; keeping it (drop --if-missing to rebuild)`);
    return;
  }
  if (args.ifMissing && args.from && !existsSync(resolve(args.from))) {
    // npm start on a clone without ../shared: the app starts without sets and says how to get them.
    console.log(
      `${args.from} not found: the app starts without benchmark sets. To get them: npm run fetch-benchmarks (online), or npm run fetch-benchmarks -- --from DIR (a folder of annotation files); then npm start again.`,
    );
    return;
  }
  const files = args.from
    ? findAnnotationFiles(resolve(args.from))
    : await download(resolve('data/annotations'));
  if (files.length === 0) throw new Error(`no annotation files found under ${args.from}`);

  mkdirSync(outDir, { recursive: true });
  const sets: BenchmarkSetInfo[] = [];
  let failed = 0;
  for (const path of files) {
    const name = basename(path);
    let parsed;
    try {
      parsed = parseBenchmarkFile(name, readFileSync(path));
    } catch (e) {
      console.error(`skipped ${path}: ${(e as Error).message}`);
      failed += 1;
      continue;
    }
    for (const err of parsed.errors) console.warn(`  invalid record: ${formatRecordError(err)}`);
    if (parsed.errors.length > 0) {
      console.warn(`  ${name}: ${parsed.errors.length} of ${parsed.total} records skipped`);
    }
    for (const { info, file } of buildSets(
      parsed.format,
      name,
      parsed.samples,
      parsed.errors.length,
    )) {
      writeFileSync(join(outDir, info.file), JSON.stringify(file));
      sets.push(info);
    }
  }
  const manifest: BenchmarkManifest = { version: 1, createdAt: new Date().toISOString(), sets };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  console.log('');
  console.log(
    `${pad('set', 30)} ${pad('level', 5)} ${pad('questions', 9, true)} ${pad('with clip', 9, true)} ${pad('skipped', 7, true)}  source`,
  );
  for (const s of sets) {
    console.log(
      `${pad(s.id, 30)} ${pad(s.level, 5)} ${pad(s.questions, 9, true)} ${pad(s.withClip, 9, true)} ${pad(s.skipped, 7, true)}  ${s.sourceFile}`,
    );
  }
  console.log(`\nwrote ${relative('.', manifestPath)} (${sets.length} sets)`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(`fetch-benchmarks: ${(e as Error).message}`);
  process.exit(1);
});
