import { describe, expect, it } from 'vitest';
import {
  chooseDtype,
  dtypePreference,
  qwenLargestWeight,
  type DeviceCaps,
  type FileSize,
  type Graph,
} from './dtype-choice';
import type { ModelDtype } from './types';

const GB = 1e9;
const MB = 1e6;
// onnx-community/Qwen2-VL-2B-Instruct's layout at our 2b export's sizes (scripts/export/README.md):
// one .onnx_data beside each graph over protobuf's 2 GB, 4-bit embed_tokens files as copies.
const HUB_2B: Record<string, number> = {
  'onnx/embed_tokens.onnx': 933 * MB,
  'onnx/embed_tokens_fp16.onnx': 467 * MB,
  'onnx/embed_tokens_q4.onnx': 933 * MB,
  'onnx/embed_tokens_q4f16.onnx': 467 * MB,
  'onnx/vision_encoder.onnx': 1 * MB,
  'onnx/vision_encoder.onnx_data': 2.66 * GB,
  'onnx/vision_encoder_fp16.onnx': 1.33 * GB,
  'onnx/vision_encoder_q4.onnx': 418 * MB,
  'onnx/vision_encoder_q4f16.onnx': 375 * MB,
  'onnx/decoder_model_merged.onnx': 1 * MB,
  'onnx/decoder_model_merged.onnx_data': 6.17 * GB,
  'onnx/decoder_model_merged_fp16.onnx': 1 * MB,
  'onnx/decoder_model_merged_fp16.onnx_data': 3.09 * GB,
  'onnx/decoder_model_merged_q4.onnx': 965 * MB,
  'onnx/decoder_model_merged_q4f16.onnx': 869 * MB,
};
const SUFFIX: Record<ModelDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
};

function filesOf(sizes: Record<string, number>) {
  return (graph: Graph, dtype: ModelDtype): Promise<FileSize[] | null> => {
    const path = `onnx/${graph}${SUFFIX[dtype]}.onnx`;
    const bytes = sizes[path];
    if (bytes === undefined) return Promise.resolve(null);
    const out = [{ path, bytes }];
    // NAME.onnx_data, NAME.onnx_data_1, ...: the external-data chunks, as transformers.js names them.
    for (let i = 0; ; i++) {
      const data = `${path}_data${i === 0 ? '' : `_${i}`}`;
      const bytes = sizes[data];
      if (bytes === undefined) break;
      out.push({ path: data, bytes });
    }
    return Promise.resolve(out);
  };
}

const GPU_F16: DeviceCaps = { device: 'webgpu', shaderF16: true, maxGpuBufferBytes: 2 ** 31 };
const GPU: DeviceCaps = { device: 'webgpu', shaderF16: false, maxGpuBufferBytes: 2 ** 30 };
const WASM: DeviceCaps = { device: 'wasm', shaderF16: false, maxGpuBufferBytes: null };
const W2B = qwenLargestWeight(151936, 1536, 1280);

function choose(request: ModelDtype | 'auto', caps: DeviceCaps, sizes = HUB_2B, largest = W2B) {
  return chooseDtype({
    request,
    caps,
    files: filesOf(sizes),
    largestWeight: largest,
    label: 'hub',
  });
}

describe('dtype choice', () => {
  it('auto picks per device: q4f16 with shader-f16, q4 without, q8 on wasm (else q4)', async () => {
    expect(dtypePreference(GPU_F16)[0]).toBe('q4f16');
    const f16 = await choose('auto', GPU_F16);
    expect(f16.plan.dtype).toBe('q4f16');
    expect(f16.plan.graphs.embed_tokens).toMatchObject({ dtype: 'q4f16' });
    expect(f16.plan.totalBytes).toBeCloseTo(1.711 * GB, -6);
    expect(f16.reason).toBe('auto: q4f16, the default for WebGPU with shader-f16');
    expect((await choose('auto', GPU)).plan.dtype).toBe('q4');
    // wasm: q8 first (its MatMulInteger is the fast kernel there, bench/cpu-2core*.json), q4 next.
    expect(dtypePreference(WASM)).toEqual(['q8', 'q4', 'fp32']);
    // With q8 files (about a byte per weight of the 2B) it loads q8 and says why.
    const withQ8 = {
      ...HUB_2B,
      'onnx/embed_tokens_quantized.onnx': 234 * MB,
      'onnx/vision_encoder_quantized.onnx': 670 * MB,
      'onnx/decoder_model_merged_quantized.onnx': 1.55 * GB,
    };
    const q8 = await choose('auto', WASM, withQ8);
    expect(q8.plan.dtype).toBe('q8');
    expect(q8.reason).toBe(
      "auto: q8, the wasm default (q8's MatMulInteger runs 4-17x faster than q4's MatMulNBits on wasm)",
    );
    // WebGPU keeps its order: no q8 there (onnxruntime-web has no WebGPU MatMulInteger kernel).
    expect((await choose('auto', GPU_F16, withQ8)).plan.dtype).toBe('q4f16');
    // The public layout above has no q8 files: q4, and the reason names what q8 lacked.
    const hub = await choose('auto', WASM);
    expect(hub.plan.dtype).toBe('q4');
    expect(hub.reason).toBe(
      'auto: q4, the wasm fallback after q8 (skipped q8: no onnx/embed_tokens_quantized.onnx)',
    );
  });

  it('auto on wasm: q8 over the wasm heap falls through to q4, and the reason says why', async () => {
    // A 3B-shaped export (vocab 151936 x hidden 2048, sizes approximate): q8 at ~1 byte per weight
    // is 3.80 GiB in all, over the 3.50 GiB of the heap left beside the runtime; q4 (its embedding
    // in fp32) fits.
    const sizes = {
      'onnx/embed_tokens.onnx': 1.24 * GB,
      'onnx/embed_tokens_quantized.onnx': 0.31 * GB,
      'onnx/vision_encoder_quantized.onnx': 0.67 * GB,
      'onnx/vision_encoder_q4.onnx': 0.42 * GB,
      'onnx/decoder_model_merged_quantized.onnx': 1 * MB,
      'onnx/decoder_model_merged_quantized.onnx_data': 1.55 * GB,
      'onnx/decoder_model_merged_quantized.onnx_data_1': 1.55 * GB,
      'onnx/decoder_model_merged_q4.onnx': 1 * MB,
      'onnx/decoder_model_merged_q4.onnx_data': 1.7 * GB,
    };
    const w3b = qwenLargestWeight(151936, 2048, 1280);
    const c = await choose('auto', WASM, sizes, w3b);
    expect(c.plan.dtype).toBe('q4');
    expect(c.plan.graphs.embed_tokens.dtype).toBe('fp32');
    expect(c.problem).toBeNull();
    expect(c.reason).toBe(
      "auto: q4, the wasm fallback after q8 (skipped q8: its files are 3.80 GiB in all (largest onnx/decoder_model_merged_quantized.onnx_data, 1.44 GiB), over the 3.50 GiB of onnxruntime-web's 4 GiB wasm heap left beside the runtime)",
    );
    // Asked for by name, q8 is refused with the size and the dtype that fits.
    await expect(choose('q8', WASM, sizes, w3b)).rejects.toThrow(
      /^q8 cannot load here: its files are 3\.80 GiB in all .* wasm heap left beside the runtime; pick q4 instead \(3\.13 GiB in all\)$/,
    );
    // Limits not enforced (experiments): q8 is kept, its problem reported.
    const probe = await chooseDtype({
      request: 'auto',
      caps: WASM,
      files: filesOf(sizes),
      largestWeight: w3b,
      label: '3b',
      enforceLimits: false,
    });
    expect(probe.plan.dtype).toBe('q8');
    expect(probe.problem?.message).toMatch(/^its files are 3\.80 GiB in all/);
  });

  it('refuses fp32 of the 2B hub export by file, size and the dtype to pick instead', async () => {
    const fp32 = choose('fp32', WASM);
    await expect(fp32).rejects.toMatchObject({
      code: 'too-large',
      file: 'onnx/vision_encoder.onnx_data',
    });
    await expect(fp32).rejects.toThrow(
      'fp32 cannot load here: onnx/vision_encoder.onnx_data is 2.48 GiB, over the 2.00 GiB a browser holds in one file; pick q4 instead (2.16 GiB in all)',
    );
    await expect(choose('fp16', GPU_F16)).rejects.toThrow(
      /fp16 cannot load here: onnx\/decoder_model_merged_fp16.onnx_data is 2.88 GiB.*pick q4f16 instead/,
    );
  });

  it('skips what an export lacks (the tiny export has no q4f16 decoder) and falls back per graph', async () => {
    const tiny = {
      'onnx/embed_tokens.onnx': 9.7 * MB,
      'onnx/vision_encoder.onnx': 0.3 * MB,
      'onnx/vision_encoder_q4.onnx': 0.08 * MB,
      'onnx/vision_encoder_q4f16.onnx': 0.08 * MB,
      'onnx/decoder_model_merged.onnx': 9.8 * MB,
      'onnx/decoder_model_merged_q4.onnx': 3.1 * MB,
    };
    const c = await choose('auto', GPU_F16, tiny, qwenLargestWeight(151936, 16, 32));
    expect(c.plan.dtype).toBe('q4');
    // No embed_tokens_q4: the fp32 lookup serves (exact either way).
    expect(c.plan.graphs.embed_tokens.dtype).toBe('fp32');
    expect(c.reason).toMatch(
      /auto: q4, .* \(skipped q4f16: no onnx\/decoder_model_merged_q4f16.onnx\)/,
    );
    // On wasm, an fp32-only folder (the -hub-chunked twin's layout): fp32 after q8 and q4.
    const fp32Only = {
      'onnx/embed_tokens.onnx': 9.7 * MB,
      'onnx/vision_encoder.onnx': 0.3 * MB,
      'onnx/decoder_model_merged.onnx': 9.8 * MB,
    };
    expect((await choose('auto', WASM, fp32Only)).reason).toBe(
      'auto: fp32, the wasm fallback after q8, q4 (skipped q8: no onnx/embed_tokens_quantized.onnx; q4: no onnx/vision_encoder_q4.onnx)',
    );
    await expect(choose('fp16', WASM, tiny)).rejects.toMatchObject({
      code: 'missing-file',
      file: 'onnx/embed_tokens_fp16.onnx',
    });
  });

  it('7B shapes: the fp32 embedding exceeds a 2 GiB GPU buffer; no dtype fits the wasm heap on wasm, WebGPU stages only the .onnx files', async () => {
    // Qwen2-VL-7B: vocab 152064 x hidden 3584; 4-bit decoder ~4.3 GB in chunks under 2 GB.
    const sizes = {
      'onnx/embed_tokens.onnx': 2.18 * GB,
      'onnx/embed_tokens_fp16.onnx': 1.09 * GB,
      'onnx/vision_encoder_q4.onnx': 0.4 * GB,
      'onnx/vision_encoder_q4f16.onnx': 0.37 * GB,
      'onnx/decoder_model_merged_q4.onnx': 1.9 * GB,
      'onnx/decoder_model_merged_q4.onnx_data': 1.9 * GB,
      'onnx/decoder_model_merged_q4f16.onnx': 1.9 * GB,
      'onnx/decoder_model_merged_q4f16.onnx_data': 1.9 * GB,
    };
    const w7b = qwenLargestWeight(152064, 3584, 1280);
    const onWasm = await chooseDtype({
      request: 'q4f16',
      caps: WASM,
      files: filesOf(sizes),
      largestWeight: w7b,
      label: '7b',
      enforceLimits: false,
    });
    expect(onWasm.problem?.message).toMatch(/^its files are 4.90 GiB in all .* 4 GiB wasm heap/);
    // On WebGPU the external data goes to the GPU from its own buffers: the .onnx files (1.9 GB of
    // decoder protobuf, the 1.09 GB fp16 embedding, the vision graph) are what the heap holds.
    const onGpu = await choose('auto', GPU_F16, sizes, w7b);
    expect(onGpu.plan.dtype).toBe('q4f16');
    expect(onGpu.problem).toBeNull();
    const inline = { ...sizes, 'onnx/decoder_model_merged_q4f16.onnx': 2.0 * GB };
    const probe = await chooseDtype({
      request: 'q4f16',
      caps: GPU_F16,
      files: filesOf({ ...inline, 'onnx/vision_encoder_q4f16.onnx': 1.9 * GB }),
      largestWeight: w7b,
      label: '7b',
      enforceLimits: false,
    });
    expect(probe.problem?.message).toMatch(
      /^its \.onnx files \(external data goes to the GPU directly\) are 4.65 GiB in all/,
    );
    const gpuLimit = qwenLargestWeight(152064, 3584)('embed_tokens', 'fp32');
    expect(gpuLimit).toBeGreaterThan(2 ** 31);
  });

  it("an embedding exported as row chunks (scripts/export's tensor limit) passes the per-file and GPU-buffer checks", async () => {
    // The 7B-shaped q4 export measured on the H200 (bench/export-selfcheck/browser-7b-export.log):
    // the fp32 embedding as ONE 2.18 GB data file, and as `npm run export` now writes it, two row
    // chunks of 76,032 x 3584 x 4 B = 1.09 GB, each in its own data file.
    const H200: DeviceCaps = { device: 'webgpu', shaderF16: false, maxGpuBufferBytes: 2 ** 31 - 4 };
    const rest = {
      'onnx/vision_encoder_q4.onnx': 429_452_097,
      'onnx/decoder_model_merged_q4.onnx': 306_396,
      'onnx/decoder_model_merged_q4.onnx_data': 1_997_377_536,
      'onnx/decoder_model_merged_q4.onnx_data_1': 1_997_377_536,
      'onnx/decoder_model_merged_q4.onnx_data_2': 425_506_816,
    };
    const whole = {
      ...rest,
      'onnx/embed_tokens_q4.onnx': 434,
      'onnx/embed_tokens_q4.onnx_data': 2_179_989_504,
    };
    const chunked = {
      ...rest,
      'onnx/embed_tokens_q4.onnx': 2_600,
      'onnx/embed_tokens_q4.onnx_data': 1_089_994_752,
      'onnx/embed_tokens_q4.onnx_data_1': 1_089_994_752,
    };
    const w7b = qwenLargestWeight(152064, 3584, 1280);
    await expect(choose('q4', H200, whole, w7b)).rejects.toThrow(
      'q4 cannot load here: onnx/embed_tokens_q4.onnx_data is 2.03 GiB, over the 2.00 GiB a browser holds in one file',
    );
    const probe = await chooseDtype({
      request: 'q4',
      caps: H200,
      files: filesOf(chunked),
      largestWeight: w7b,
      label: '7b',
      enforceLimits: false,
    });
    expect(probe.plan.graphs.embed_tokens.files.map((f) => f.path)).toEqual([
      'onnx/embed_tokens_q4.onnx',
      'onnx/embed_tokens_q4.onnx_data',
      'onnx/embed_tokens_q4.onnx_data_1',
    ]);
    // All limits hold on WebGPU: the heap stages only the .onnx files (0.43 GB), the weights go to
    // the GPU (5.1 GB of them reached the H200 in the forced load); on wasm the 6.55 GiB are too many.
    expect(probe.problem).toBeNull();
    expect((await choose('q4', H200, chunked, w7b)).plan.dtype).toBe('q4');
    await expect(choose('q4', WASM, chunked, w7b)).rejects.toThrow(
      /its files are 6.55 GiB in all .* 4 GiB wasm heap/,
    );

    // The GPU-buffer check on its own (files that fit the heap): a 1.09 GB fp16 table in one file
    // is over a 1 GiB storage buffer; in two row chunks of 545 MB it is not.
    const GPU_1G: DeviceCaps = { device: 'webgpu', shaderF16: true, maxGpuBufferBytes: 2 ** 30 };
    const small = {
      'onnx/vision_encoder_q4f16.onnx': 375_000_000,
      'onnx/decoder_model_merged_q4f16.onnx': 1_000_000,
      'onnx/decoder_model_merged_q4f16.onnx_data': 1_900_000_000,
    };
    const fp16Whole = { ...small, 'onnx/embed_tokens_fp16.onnx': 1_089_995_181 };
    const fp16Chunked = {
      ...small,
      'onnx/embed_tokens_fp16.onnx': 2_600,
      'onnx/embed_tokens_fp16.onnx_data': 544_997_376,
      'onnx/embed_tokens_fp16.onnx_data_1': 544_997_376,
    };
    await expect(choose('q4f16', GPU_1G, fp16Whole, w7b)).rejects.toThrow(
      "q4f16 cannot load here: the largest weight of onnx/embed_tokens_fp16.onnx is 1.02 GiB, over this GPU's largest storage buffer (1.00 GiB)",
    );
    const ok = await choose('q4f16', GPU_1G, fp16Chunked, w7b);
    expect(ok.plan.graphs.embed_tokens.dtype).toBe('fp16');
    expect(ok.reason).toBe('q4f16 as asked');
  });
});
