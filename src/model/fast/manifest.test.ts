import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fastVisionOf,
  feedsWeights,
  int8Unused,
  parseFastManifest,
  sessionFileNames,
  sessionGraphs,
} from './manifest';

const models = resolve(import.meta.dirname, '../../../models');
const committed = (dir: string) => readFileSync(`${models}/${dir}/onnx/fast.json`, 'utf8');

describe('onnx/fast.json', () => {
  it("the tiny Qwen2-VL's lists its fast vision graph", () => {
    const m = parseFastManifest(committed('tiny-random-qwen2-vl'), 'qwen2-vl');
    expect(fastVisionOf(m)?.inv_freq).toHaveLength(4);
    expect(m.graphs['fp32']?.vision.file).toBe('onnx/vision_fast.onnx');
  });

  it("the tiny Qwen2-VL's q8 lists its fast q8 decoder over the reference q8 bytes and the reference q8 vision graph", () => {
    const m = parseFastManifest(committed('tiny-random-qwen2-vl'), 'qwen2-vl');
    const q8 = m.graphs['q8'];
    expect(q8?.decoder.file).toBe('onnx/decoder_fast_q8.onnx');
    expect(q8?.decoder.data.map((d) => d.file)).toEqual([
      'onnx/embed_tokens_quantized.onnx',
      'onnx/decoder_model_merged_quantized.onnx',
    ]);
    expect(q8?.vision).toMatchObject({
      file: 'onnx/vision_encoder_quantized.onnx',
      graph: 'reference',
    });
    expect(fastVisionOf(m, 'q8')).toBeNull();
    expect(fastVisionOf(m, 'q4')?.inv_freq).toHaveLength(4);
  });

  it("the tiny Qwen2-VL's q4 lists int8-activation graphs over the q4 graphs' bytes; each session's graph by q4Int8", () => {
    const m = parseFastManifest(committed('tiny-random-qwen2-vl'), 'qwen2-vl');
    const q4 = m.graphs['q4'];
    if (!q4) throw new Error('no q4');
    expect(q4.a8?.decoder.file).toBe('onnx/decoder_fast_q4a8.onnx');
    expect(q4.a8?.decoder.data.map((d) => d.file).sort()).toEqual([
      'onnx/decoder_fast_q4.onnx',
      'onnx/embed_tokens.onnx',
    ]);
    expect(q4.a8?.vision?.data.map((d) => d.file)).toEqual(['onnx/vision_fast_q4.onnx']);
    const files = (int8: 'off' | 'prefill' | 'all') => {
      const s = sessionGraphs(q4, int8);
      return [s.vision.file, s.prefill.file, s.decode.file];
    };
    // Exact decode steps replay the step graph (no penalty and argmax: the engine picks the id).
    expect(files('off')).toEqual([
      'onnx/vision_fast_q4.onnx',
      'onnx/decoder_fast_q4.onnx',
      'onnx/decoder_fast_q4step.onnx',
    ]);
    expect(sessionGraphs(q4, 'off').decodePicks).toBe(true);
    expect(q4.step?.data.map((d) => d.file).sort()).toEqual([
      'onnx/decoder_fast_q4.onnx',
      'onnx/embed_tokens.onnx',
    ]);
    expect(files('prefill')).toEqual([
      'onnx/vision_fast_q4a8.onnx',
      'onnx/decoder_fast_q4a8.onnx',
      'onnx/decoder_fast_q4step.onnx',
    ]);
    expect(files('all')).toEqual([
      'onnx/vision_fast_q4a8.onnx',
      'onnx/decoder_fast_q4a8.onnx',
      'onnx/decoder_fast_q4a8.onnx',
    ]);
    expect(sessionGraphs(q4, 'all').decodePicks).toBe(false);
    // fp32 has no a8 graphs: asked anyway, every session stays exact (int8Unused says why).
    const fp32 = m.graphs['fp32'];
    if (!fp32) throw new Error('no fp32');
    expect(sessionGraphs(fp32, 'all').prefill.file).toBe('onnx/decoder_fast.onnx');
  });

  it("the tiny Qwen2-VL's feed graphs: each decoder session's feed variant, one weights table, the files it needs", () => {
    const m = parseFastManifest(committed('tiny-random-qwen2-vl'), 'qwen2-vl');
    const q4 = m.graphs['q4'];
    if (!q4?.feed) throw new Error('no q4 feed graphs');
    const files = (int8: 'off' | 'prefill' | 'all') => {
      const s = sessionGraphs(q4, int8, true);
      return [s.vision.file, s.prefill.file, s.decode.file, s.decodePicks];
    };
    expect(files('off')).toEqual([
      'onnx/vision_fast_q4.onnx',
      'onnx/decoder_fast_q4_feed.onnx',
      'onnx/decoder_fast_q4step_feed.onnx',
      true,
    ]);
    expect(files('prefill')).toEqual([
      'onnx/vision_fast_q4a8.onnx',
      'onnx/decoder_fast_q4a8_feed.onnx',
      'onnx/decoder_fast_q4step_feed.onnx',
      true,
    ]);
    expect(files('all')[1]).toBe('onnx/decoder_fast_q4a8_feed.onnx');
    // Fed only where two decoder sessions load: WebGPU with capture, as asked.
    expect(feedsWeights('webgpu', true, true)).toBe(true);
    expect(feedsWeights('wasm', true, true)).toBe(false);
    expect(feedsWeights('webgpu', false, true)).toBe(false);
    expect(feedsWeights('webgpu', true, false)).toBe(false);
    // Not asked (wasm, or sharing off): the initializer graphs, no weights to upload.
    expect(sessionGraphs(q4, 'off').weights).toBeNull();
    expect(sessionGraphs(q4, 'off').prefill.file).toBe('onnx/decoder_fast_q4.onnx');
    // The weights' bytes are the q4 graph's own (inline in this small model) and the shared embedding.
    const s = sessionGraphs(q4, 'off', true);
    expect(s.weights).toBe(q4.feed.weights);
    expect(new Set(q4.feed.weights.map((w) => w.file))).toEqual(
      new Set(['onnx/decoder_fast_q4.onnx', 'onnx/embed_tokens.onnx']),
    );
    expect(q4.feed.decoder.data).toEqual([]);
    expect(sessionFileNames(s, 'webgpu', true).sort()).toEqual([
      'onnx/decoder_fast_q4.onnx',
      'onnx/decoder_fast_q4_feed.onnx',
      'onnx/decoder_fast_q4step_feed.onnx',
      'onnx/embed_tokens.onnx',
      'onnx/vision_fast_q4.onnx',
    ]);
    // A manifest whose feed graphs lack one a session needs keeps the initializer graphs.
    const partial = { ...q4, feed: { ...q4.feed, step: undefined } };
    expect(sessionGraphs(partial, 'off', true).weights).toBeNull();
    expect(sessionGraphs(partial, 'off', true).decode.file).toBe('onnx/decoder_fast_q4step.onnx');
  });

  it('a feed weight of another element type is named by field', () => {
    const raw = JSON.parse(committed('tiny-random-qwen2-vl')) as {
      graphs: Record<string, { feed: { weights: Record<string, unknown>[] } }>;
    };
    const q4 = raw.graphs['q4'];
    if (!q4) throw new Error('no q4');
    q4.feed.weights[0] = { ...q4.feed.weights[0], type: 'int4' };
    expect(() => parseFastManifest(JSON.stringify(raw), 'm')).toThrow(
      /graphs.q4.feed.weights.0.type/,
    );
  });

  it("the tiny Qwen2.5-VL's lists the shared fast decoder and its own reference vision graph", () => {
    const m = parseFastManifest(committed('tiny-random-qwen2_5-vl'), 'qwen2.5-vl');
    expect(m.vision).toEqual({
      graph: 'reference',
      patch: 14,
      temporal_patch: 2,
      merge: 2,
      out_hidden: 16,
    });
    expect(fastVisionOf(m)).toBeNull();
    expect(m.graphs['fp32']?.decoder.file).toBe('onnx/decoder_fast.onnx');
    expect(m.graphs['fp32']?.vision.file).toBe('onnx/vision_encoder.onnx');
  });

  it('a bad vision section is named by field', () => {
    const raw = JSON.parse(committed('tiny-random-qwen2_5-vl')) as {
      vision: Record<string, unknown>;
    };
    const bad = (vision: Record<string, unknown>) => () =>
      parseFastManifest(JSON.stringify({ ...raw, vision }), 'm');
    expect(bad({ ...raw.vision, graph: 'refrence' })).toThrow(/m: onnx\/fast.json: vision.graph/);
    expect(bad({ ...raw.vision, out_hidden: undefined })).toThrow(/vision.out_hidden/);
    expect(bad({ ...raw.vision, out_hidden: 8 })).toThrow(/vision.out_hidden must be text.hidden/);
    // A fast vision section (no `graph`) needs its rotary table.
    expect(bad({ ...raw.vision, graph: undefined })).toThrow(/vision.embed/);
  });

  it('int8 activations apply only with a8 graphs on a WebGPU device with subgroups', () => {
    expect(int8Unused('off', false, 'wasm', undefined)).toBeNull();
    expect(int8Unused('prefill', true, 'webgpu', true)).toBeNull();
    expect(int8Unused('all', false, 'webgpu', true)).toMatch(/no a8 graphs/);
    expect(int8Unused('all', true, 'wasm', undefined)).toMatch(/wasm build has no int8/);
    expect(int8Unused('prefill', true, 'webgpu', false)).toMatch(/no subgroups/);
    expect(int8Unused('prefill', true, 'webgpu', undefined)).toMatch(/no subgroups/);
  });
});
