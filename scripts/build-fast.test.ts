import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linkSharedTextGraphs } from './copy-tokenizer';

// The tiny Qwen2.5-VL's committed onnx/fast.json and its linked (not committed) decoder_fast.onnx are
// what the fast builder makes for that folder: the manifest byte for byte, the decoder identical to
// the tiny Qwen2-VL's (the text weights are the same), so sharing its bytes is exact.
const root = resolve(import.meta.dirname, '..');
const q25 = join(root, 'models/tiny-random-qwen2_5-vl');

describe('scripts/export/build_fast.py on the tiny Qwen2.5-VL', () => {
  it('rebuilds its fast.json and a decoder_fast.onnx identical to the tiny Qwen2-VL one', () => {
    linkSharedTextGraphs();
    const dir = mkdtempSync(join(tmpdir(), 'build-fast-q25-'));
    mkdirSync(join(dir, 'onnx'));
    copyFileSync(join(q25, 'config.json'), join(dir, 'config.json'));
    for (const f of ['embed_tokens.onnx', 'decoder_model_merged.onnx', 'vision_encoder.onnx'])
      copyFileSync(join(q25, 'onnx', f), join(dir, 'onnx', f));
    const r = spawnSync(
      'npx',
      ['tsx', 'scripts/run-python.ts', 'scripts/export/build_fast.py', dir, '--dtypes', 'fp32'],
      { cwd: root, encoding: 'utf8' },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('vision: the reference graph onnx/vision_encoder.onnx');
    const read = (path: string) => readFileSync(path);
    expect(read(join(dir, 'onnx/fast.json')).equals(read(join(q25, 'onnx/fast.json')))).toBe(true);
    const built = read(join(dir, 'onnx/decoder_fast.onnx'));
    const shared = read(join(root, 'models/tiny-random-qwen2-vl/onnx/decoder_fast.onnx'));
    expect(built.equals(shared)).toBe(true);
  });
});
