import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web/webgpu';
import { describe, expect, it } from 'vitest';

// The numpy + onnx exporter (scripts/export/): its own checks in Python, the 4-bit packing
// against onnxruntime's CPU MatMulNBits kernel, and byte-for-byte reproducible twins.
const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'export-test-'));

// The app's wasm binary in Node (as scripts/bench-cpu/step-profile.ts): onnxruntime-web's wasm EP,
// one thread (that binary's threads need a browser).
const wasmBase = join(root, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify');
ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.wasmBinary = readFileSync(`${wasmBase}.wasm`);
ortWeb.env.wasm.wasmPaths = { mjs: pathToFileURL(`${wasmBase}.mjs`).href };

interface EmbedCases {
  vocab: number;
  hidden: number;
  variants: Record<string, { dtype: string; io: string; limit: number; spans: [number, number][] }>;
  export: string;
}

/** Token ids at and around every chunk boundary, 0, the last id, and a few others. */
function boundaryIds(vocab: number, spans: [number, number][]): number[] {
  const ids = new Set([0, 1, 2, vocab - 2, vocab - 1, 9707, 151643, 151655]);
  for (const [lo] of spans.slice(1)) for (const d of [-2, -1, 0, 1, 2]) ids.add(lo + d);
  return [...ids].filter((i) => i >= 0 && i < vocab).sort((a, b) => a - b);
}

/** inputs_embeds of `ids` (batch 2: the ids, then reversed) as raw bytes, on onnxruntime-node (CPU EP) or -web (wasm EP). */
async function embedBytes(
  runtime: 'node' | 'wasm',
  dir: string,
  file: string,
  ids: number[],
): Promise<{ bytes: Uint8Array; dims: readonly number[]; type: string }> {
  const input = BigInt64Array.from([...ids, ...[...ids].reverse()].map(BigInt));
  const dims = [2, ids.length];
  if (runtime === 'node') {
    const s = await ort.InferenceSession.create(join(dir, file));
    return embedsOf(
      (await s.run({ input_ids: new ort.Tensor('int64', input, dims) }))['inputs_embeds'],
    );
  }
  const data = readdirSync(dir)
    .filter((f) => f.startsWith(`${file}_data`))
    .map((f) => ({ path: f, data: readFileSync(join(dir, f)) }));
  const s = await ortWeb.InferenceSession.create(readFileSync(join(dir, file)), {
    externalData: data,
  });
  return embedsOf(
    (await s.run({ input_ids: new ortWeb.Tensor('int64', input, dims) }))['inputs_embeds'],
  );
}

/** An output's raw bytes (float32 or float16), shape and type, from either runtime. */
function embedsOf(y: { data: unknown; dims: readonly number[]; type: string } | undefined) {
  assert(y);
  const d = y.data as Float32Array | Uint16Array;
  return {
    bytes: new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice(),
    dims: y.dims,
    type: y.type,
  };
}

function assert(x: unknown): asserts x {
  if (!x) throw new Error('no inputs_embeds output');
}

function python(script: string, ...args: string[]): string {
  const r = spawnSync('npx', ['tsx', 'scripts/run-python.ts', script, ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${script} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('scripts/export', () => {
  it('q4 matches onnxruntime byte for byte; safetensors BF16/F16/F32; checkpoint route = twin route', () => {
    const out = python('scripts/export/test_export.py', tmp);
    expect(out).toContain('ok q4: 26 matrices byte-identical');
    expect(out).toContain('ok safetensors');
    expect(out).toContain('ok checkpoint');
    expect(out).toContain('ok qwen2_5_vl checkpoint');
  });

  it("a Qwen2.5-VL checkpoint's converted vision graph computes the committed tiny Qwen2.5-VL's features", async () => {
    // The committed graph was traced from HF's module (qwen25.VisionSlice25, one slice per call);
    // the converted one is hub_graphs.build_vision25 from the same weights, fed whole grids.
    const converted = await ort.InferenceSession.create(
      join(tmp, 'tiny25-export-4', 'onnx', 'vision_encoder.onnx'),
    );
    const committed = await ort.InferenceSession.create(
      join(root, 'models/tiny-random-qwen2_5-vl/onnx/vision_encoder.onnx'),
    );
    let seed = 5;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const grid = (t: number, h: number, w: number) =>
      new ort.Tensor('int64', BigInt64Array.from([t, h, w].map(BigInt)), [1, 3]);
    // h != w, partial windows (18 / 2 = 9 merged rows: windows of 4, 4, 1), two slices in one call.
    for (const [t, h, w] of [
      [1, 12, 20],
      [1, 18, 18],
      [2, 36, 20],
    ] as const) {
      const n = h * w;
      const pv = Float32Array.from({ length: t * n * 1176 }, rand);
      const whole = (
        await converted.run({
          pixel_values: new ort.Tensor('float32', pv, [t * n, 1176]),
          image_grid_thw: grid(t, h, w),
        })
      )['image_features']?.data as Float32Array;
      let max = 0;
      for (let s = 0; s < t; s++) {
        const slice = pv.subarray(s * n * 1176, (s + 1) * n * 1176);
        const ref = (
          await committed.run({
            pixel_values: new ort.Tensor('float32', slice, [n, 1176]),
            image_grid_thw: grid(1, h, w),
          })
        )['image_features']?.data as Float32Array;
        expect(whole.length).toBe(t * ref.length);
        for (let i = 0; i < ref.length; i++) {
          max = Math.max(max, Math.abs((whole[s * ref.length + i] as number) - (ref[i] as number)));
        }
      }
      console.log(
        `Qwen2.5-VL vision ${t}x${h}x${w}: converted vs committed max |diff| ${max.toExponential(2)}`,
      );
      // Float32 rounding of the same sums in another order (measured 2.7e-6 to 3.8e-6, features
      // of std ~0.7); the same builder with every block on full attention (no windows) is 1.3 to 2.5 away.
      expect(max).toBeLessThan(1e-4);
    }
  });

  it("the packed 4-bit weights are what onnxruntime's CPU MatMulNBits kernel multiplies by", async () => {
    const nbits = await ort.InferenceSession.create(join(tmp, 'kernel', 'nbits.onnx'));
    const dense = await ort.InferenceSession.create(join(tmp, 'kernel', 'dense.onnx'));
    let seed = 3;
    const x = Float32Array.from(
      { length: 5 * 72 },
      () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1,
    );
    const feed = { x: new ort.Tensor('float32', x, [5, 72]) };
    const a = (await nbits.run(feed))['y']?.data as Float32Array;
    const b = (await dense.run(feed))['y']?.data as Float32Array;
    let max = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
      scale = Math.max(scale, Math.abs(b[i] as number));
    }
    console.log(
      `MatMulNBits vs MatMul of the dequantized weights: max |diff| ${max.toExponential(2)} (outputs up to ${scale.toFixed(1)})`,
    );
    // Same products in another summation order (the kernel dequantizes per block): float32 rounding.
    expect(max).toBeLessThan(1e-5 * Math.max(1, scale));
  });

  it('rebuilds the hub twins byte for byte (the graphs hub-twin.json was computed on)', () => {
    python('scripts/export/make_twin.py', '--models', join(tmp, 'models'), '--force');
    const ref = JSON.parse(
      readFileSync(join(root, 'e2e/fixtures/reference/hub-twin.json'), 'utf8'),
    ) as { graphs: Record<string, string> };
    for (const [file, sha] of Object.entries(ref.graphs)) {
      const got = createHash('sha256')
        .update(readFileSync(join(tmp, 'models', file)))
        .digest('hex');
      expect(got, file).toBe(sha);
    }
  });

  it('an embedding written as row chunks looks up bit for bit what the whole table does (CPU and wasm EPs)', async () => {
    const cases = JSON.parse(readFileSync(join(tmp, 'embed', 'cases.json'), 'utf8')) as EmbedCases;
    for (const [name, v] of Object.entries(cases.variants)) {
      const ids = boundaryIds(cases.vocab, v.spans);
      const dir = join(tmp, 'embed', name);
      const whole = await embedBytes('node', dir, 'whole.onnx', ids);
      expect(whole.dims).toEqual([2, ids.length, cases.hidden]);
      expect(whole.type).toBe(v.io);
      for (const runtime of ['node', 'wasm'] as const) {
        const chunked = await embedBytes(runtime, dir, 'chunked.onnx', ids);
        expect(chunked.dims, `${name} ${runtime}`).toEqual(whole.dims);
        expect(chunked.type, `${name} ${runtime}`).toBe(whole.type);
        // Byte equality: a lookup copies values, so nothing but the same bits is right.
        expect(Buffer.compare(chunked.bytes, whole.bytes), `${name} ${runtime}`).toBe(0);
      }
      console.log(
        `chunked embed ${name}: ${v.spans.length} chunks at rows ${v.spans.map((s) => s[0]).join(', ')}; ${ids.length} ids x 2 rows byte-identical on CPU and wasm`,
      );
    }
    // The export's chunked q4 lookup (convert(), 3 chunks) against the committed tiny fp32 embed_tokens.
    const v = Object.values(cases.variants)[0];
    assert(v);
    const ids = boundaryIds(cases.vocab, v.spans);
    const tiny = await embedBytes(
      'node',
      join(root, 'models/tiny-random-qwen2-vl/onnx'),
      'embed_tokens.onnx',
      ids,
    );
    const exp = await embedBytes('wasm', join(cases.export, 'onnx'), 'embed_tokens_q4.onnx', ids);
    expect(Buffer.compare(exp.bytes, tiny.bytes)).toBe(0);
  });
});
