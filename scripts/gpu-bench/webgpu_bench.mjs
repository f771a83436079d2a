// The app's WebGPU kernels on a real GPU without a browser: onnxruntime-web (the same build and
// WebGPU execution provider the app loads through transformers.js) in Node, with Dawn's Node
// binding (npm `webgpu`, dawn.node) as navigator.gpu. Times the q4 vision encoder on 16 frames + the
// still, an 850-token prefill and greedy decode with the KV cache kept on the GPU, as the app does.
//
//   GB_LIB=<folder with webgpu/ and ort/> node webgpu_bench.mjs <model dir> <work dir>
//
// Prints progress on stderr and one JSON line (the numbers, or {error}) last on stdout.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [modelDir, work] = process.argv.slice(2);
const lib = resolve(process.env.GB_LIB ?? join(import.meta.dirname, '../../.gpubench/lib'));
const PROMPT = 850;
const SLICES = 8;
const DECODE_STEPS = 64;
const REPEATS = 3;
const log = (m) => process.stderr.write(`[webgpu] ${m}\n`);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const result = { engine: null };
/** A float32 file as a Float32Array (copied when Node's Buffer is not 4-byte aligned). */
const f32 = (path) => {
  const b = readFileSync(path);
  return b.byteOffset % 4 === 0
    ? new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4)
    : new Float32Array(new Uint8Array(b).buffer);
};
const bytes = (t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength);

async function main() {
  const { create, globals } = await import(join(lib, 'webgpu/index.js'));
  Object.assign(globalThis, globals);
  // dawn.node refuses views on a SharedArrayBuffer (ORT's threaded wasm heap is one): copy first.
  const writeBuffer = globals.GPUQueue.prototype.writeBuffer;
  globals.GPUQueue.prototype.writeBuffer = function (buffer, offset, data, dataOffset = 0, size) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const end = size === undefined ? data.length : dataOffset + size;
      return writeBuffer.call(
        this,
        buffer,
        offset,
        data.slice(dataOffset, end),
        0,
        end - dataOffset,
      );
    }
    return writeBuffer.call(this, buffer, offset, data, dataOffset, size);
  };
  const gpu = create([]);
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu, userAgent: 'node', hardwareConcurrency: 1, language: 'en' },
    configurable: true,
  });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('Dawn found no WebGPU adapter');
  const info = adapter.info ?? {};
  result.adapter = {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? null,
    features: [...adapter.features],
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
  log(`adapter: ${JSON.stringify(result.adapter)}`);
  const fallback =
    info.isFallbackAdapter || /swiftshader/i.test(`${info.architecture} ${info.description}`);
  if (fallback && !process.env.GB_ALLOW_FALLBACK) {
    throw new Error('only the SwiftShader fallback adapter: no real GPU under Dawn');
  }

  const ort = await import(join(lib, 'ort/ort.webgpu.min.mjs'));
  ort.env.wasm.wasmPaths = `${join(lib, 'ort')}/`;
  ort.env.wasm.numThreads = 1; // no Web Workers in Node; the GPU does the work
  ort.env.webgpu.adapter = adapter;
  ort.env.logLevel = 'error';
  result.engine = `onnxruntime-web ${ort.env.versions?.web ?? '?'} WebGPU EP (asyncify wasm) on Dawn (npm webgpu, dawn.node) in Node ${process.version}`;
  log(result.engine);

  const onnxDir = join(modelDir, 'onnx');
  const session = async (name, options = {}) => {
    const t0 = performance.now();
    const externalData = readdirSync(onnxDir)
      .filter((f) => f.startsWith(`${name}.onnx_data`))
      .map((f) => ({ path: f, data: new Uint8Array(readFileSync(join(onnxDir, f))) }));
    const s = await ort.InferenceSession.create(
      new Uint8Array(readFileSync(join(onnxDir, `${name}.onnx`))),
      {
        executionProviders: ['webgpu'],
        externalData,
        ...options,
      },
    );
    const ms = performance.now() - t0;
    log(`${name}: session in ${ms.toFixed(0)} ms (${externalData.length} external data files)`);
    return { s, ms };
  };

  // Vision: 8 slices of the clip (16 frames) and the still, one slice per call as the app does.
  const vision = await session('vision_encoder_q4');
  result.vision_session_ms = vision.ms;
  const pv = f32(join(work, 'pixel_values.f32'));
  const grid = new ort.Tensor('int64', BigInt64Array.from([1n, 18n, 18n]), [1, 3]);
  const slice = (k) =>
    new ort.Tensor('float32', pv.subarray(k * 324 * 1176, (k + 1) * 324 * 1176), [324, 1176]);
  let t0 = performance.now();
  const first = await vision.s.run({ pixel_values: slice(0), grid_thw: grid });
  result.vision_first_slice_ms = performance.now() - t0; // includes shader compilation
  writeFileSync(join(work, 'wg_vision0.f32'), bytes(first.image_features.data));
  const clipRuns = [];
  const stillRuns = [];
  for (let r = 0; r < REPEATS; r++) {
    t0 = performance.now();
    for (let k = 0; k < SLICES; k++) await vision.s.run({ pixel_values: slice(k), grid_thw: grid });
    clipRuns.push(performance.now() - t0);
    t0 = performance.now();
    await vision.s.run({ pixel_values: slice(SLICES), grid_thw: grid });
    stillRuns.push(performance.now() - t0);
  }
  result.vision_16_frames_ms = median(clipRuns);
  result.vision_still_ms = median(stillRuns);
  log(
    `vision: 16 frames ${result.vision_16_frames_ms.toFixed(1)} ms, still ${result.vision_still_ms.toFixed(1)} ms`,
  );
  await vision.s.release();

  // Decoder: present.* stay on the GPU (gpu-buffer) and go back in as the next past, as in the app.
  const cfg = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  const layers = cfg.num_hidden_layers;
  const kvHeads = cfg.num_key_value_heads;
  const headDim = cfg.head_dim;
  const hidden = cfg.hidden_size;
  const location = {};
  for (let i = 0; i < layers; i++) {
    location[`present.${i}.key`] = 'gpu-buffer';
    location[`present.${i}.value`] = 'gpu-buffer';
  }
  const dec = await session('decoder_model_merged_q4', { preferredOutputLocation: location });
  result.decoder_session_ms = dec.ms;
  const table = f32(join(work, 'embed.f32'));
  const embeds = f32(join(work, 'prefill_embeds.f32'));
  const keep = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
  const emptyPast = () => {
    const feed = {};
    for (let i = 0; i < layers; i++) {
      for (const k of ['key', 'value']) {
        feed[`past_key_values.${i}.${k}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          kvHeads,
          0,
          headDim,
        ]);
      }
    }
    return feed;
  };
  const positions = (start, n) => {
    const p = new BigInt64Array(3 * n);
    for (let a = 0; a < 3; a++) for (let j = 0; j < n; j++) p[a * n + j] = BigInt(start + j);
    return new ort.Tensor('int64', p, [3, 1, n]);
  };
  const mask = (n) => new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
  const pasts = (out) => {
    const feed = {};
    for (let i = 0; i < layers; i++) {
      for (const k of ['key', 'value'])
        feed[`past_key_values.${i}.${k}`] = out[`present.${i}.${k}`];
    }
    return feed;
  };
  const dispose = (out) => {
    for (const [name, t] of Object.entries(out)) if (name.startsWith('present')) t.dispose();
  };
  const prefill = () =>
    dec.s.run({
      inputs_embeds: new ort.Tensor('float32', embeds, [1, PROMPT, hidden]),
      attention_mask: mask(PROMPT),
      position_ids: positions(0, PROMPT),
      num_logits_to_keep: keep,
      ...emptyPast(),
    });
  t0 = performance.now();
  let out = await prefill();
  result.prefill_first_ms = performance.now() - t0;
  writeFileSync(join(work, 'wg_logits.f32'), bytes(out.logits.data));
  const prefillRuns = [];
  for (let r = 0; r < REPEATS; r++) {
    dispose(out);
    t0 = performance.now();
    out = await prefill();
    prefillRuns.push(performance.now() - t0);
  }
  result.prefill_ms = median(prefillRuns);
  log(
    `prefill ${PROMPT} tokens: ${result.prefill_ms.toFixed(1)} ms (first ${result.prefill_first_ms.toFixed(0)} ms)`,
  );

  const step = async (total) => {
    const logits = out.logits.data;
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    const e = table.subarray(best * hidden, (best + 1) * hidden);
    const next = await dec.s.run({
      inputs_embeds: new ort.Tensor('float32', e, [1, 1, hidden]),
      attention_mask: mask(total + 1),
      position_ids: positions(total, 1),
      num_logits_to_keep: keep,
      ...pasts(out),
    });
    dispose(out);
    out = next;
  };
  let total = PROMPT;
  t0 = performance.now();
  for (let w = 0; w < 2; w++) await step(total++); // the decode shapes compile their shaders here
  result.decode_warmup_2_steps_ms = performance.now() - t0;
  t0 = performance.now();
  for (let k = 0; k < DECODE_STEPS; k++) await step(total++);
  const dt = (performance.now() - t0) / 1000;
  result.decode_steps = DECODE_STEPS;
  result.decode_tokens_per_s = DECODE_STEPS / dt;
  result.ttft_ms = result.vision_16_frames_ms + result.vision_still_ms + result.prefill_ms;
  log(`decode: ${result.decode_tokens_per_s.toFixed(1)} tokens/s`);
  dispose(out);
  await dec.s.release();
}

try {
  await main();
} catch (e) {
  result.error = String(e?.stack ?? e);
  log(`failed: ${result.error}`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
