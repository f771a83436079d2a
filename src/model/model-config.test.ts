import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  modelFamily,
  parseGeneration,
  parsePreprocessor,
  parseQwenConfig,
  textField,
  tokensPerSecond,
} from './model-config';

const TINY = new URL('../../models/tiny-random-qwen2-vl/', import.meta.url);
const read = (f: string): unknown => JSON.parse(readFileSync(new URL(f, TINY), 'utf8'));
const IDS = { imEnd: 151645, endOfText: 151643 };

describe('config.json', () => {
  it('reads the tiny export, top-level and nested text fields alike', () => {
    const c = parseQwenConfig(read('config.json'), 'tiny');
    expect(textField(c, 'num_hidden_layers')).toBe(2);
    const nested = parseQwenConfig(
      {
        model_type: 'qwen2_vl',
        image_token_id: 1,
        video_token_id: 2,
        vision_start_token_id: 3,
        text_config: { hidden_size: 3584 },
      },
      'x',
    );
    expect(textField(nested, 'hidden_size')).toBe(3584);
  });

  it('refuses other architectures and other patch geometry by name', () => {
    expect(() =>
      parseQwenConfig({ model_type: 'llama', architectures: ['LlamaForCausalLM'] }, 'm'),
    ).toThrow(/"llama" \(LlamaForCausalLM\)/);
    const c = read('config.json') as { vision_config: Record<string, unknown> };
    expect(() =>
      parseQwenConfig({ ...c, vision_config: { ...c.vision_config, patch_size: 16 } }, 'm'),
    ).toThrow(/vision_config.patch_size is 16; Qwen2-VL's processor \(and this app\) use 14/);
    expect(() => parseQwenConfig({ ...c, image_token_id: 'x' }, 'm')).toThrow(
      /config.json image_token_id/,
    );
  });
});

describe('Qwen2.5-VL config.json', () => {
  // Qwen/Qwen2.5-VL-7B-Instruct's fields that matter here (transformers 4.49 layout).
  const q25 = {
    model_type: 'qwen2_5_vl',
    architectures: ['Qwen2_5_VLForConditionalGeneration'],
    image_token_id: 151655,
    video_token_id: 151656,
    vision_start_token_id: 151652,
    hidden_size: 3584,
    vision_config: {
      depth: 32,
      hidden_size: 1280,
      out_hidden_size: 3584,
      patch_size: 14,
      spatial_merge_size: 2,
      temporal_patch_size: 2,
      tokens_per_second: 2,
      window_size: 112,
      fullatt_block_indexes: [7, 15, 23, 31],
      in_chans: 3,
    },
  };

  it('is read as the qwen2_5_vl family with its time scale', () => {
    const c = parseQwenConfig(q25, 'q25');
    expect(modelFamily(c)).toBe('qwen2_5_vl');
    expect(tokensPerSecond(c)).toBe(2);
    const noTime: Record<string, unknown> = { ...q25.vision_config };
    delete noTime['tokens_per_second'];
    expect(tokensPerSecond(parseQwenConfig({ ...q25, vision_config: noTime }, 'q25'))).toBe(4);
    expect(tokensPerSecond(parseQwenConfig(read('config.json'), 'tiny'))).toBeNull();
  });

  it('refuses a family whose architecture is the other one, and names both families', () => {
    expect(() =>
      parseQwenConfig({ ...q25, architectures: ['Qwen2VLForConditionalGeneration'] }, 'm'),
    ).toThrow(/"qwen2_5_vl" \(Qwen2VLForConditionalGeneration\).*Qwen2-VL.*Qwen2.5-VL/);
    expect(() =>
      parseQwenConfig({ ...q25, vision_config: { ...q25.vision_config, patch_size: 16 } }, 'm'),
    ).toThrow(/Qwen2.5-VL's processor \(and this app\) use 14/);
  });
});

describe('preprocessor_config.json', () => {
  it("accepts the tiny export's and the public 2B's values", () => {
    expect(parsePreprocessor(read('preprocessor_config.json'), 'tiny')).toMatchObject({
      patchSize: 14,
      mergeSize: 2,
      rescale: 1 / 255,
    });
    // onnx-community/Qwen2-VL-2B-Instruct (transformers 4.45 layout): no explicit patch fields.
    const hub = {
      min_pixels: 3136,
      max_pixels: 12845056,
      patch_size: 14,
      temporal_patch_size: 2,
      merge_size: 2,
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
      image_processor_type: 'Qwen2VLImageProcessor',
      processor_class: 'Qwen2VLProcessor',
    };
    expect(parsePreprocessor(hub, 'hub').maxPixels).toBe(12845056);
  });

  it('names the field that differs from the protocol', () => {
    const base = read('preprocessor_config.json') as Record<string, unknown>;
    expect(() => parsePreprocessor({ ...base, image_mean: [0.5, 0.5, 0.5] }, 'm')).toThrow(
      /preprocessor_config.json has image_mean \[0.5,0.5,0.5\], but the protocol's preprocessing .* uses \[0.48145466/,
    );
    expect(() => parsePreprocessor({ ...base, merge_size: 4 }, 'm')).toThrow(/merge_size 4/);
    expect(() => parsePreprocessor({ ...base, rescale_factor: 1 }, 'm')).toThrow(
      /rescale_factor 1/,
    );
    // Video defaults of some versions would upscale a 252 x 252 frame (min 128 x 28 x 28 pixels).
    expect(() => parsePreprocessor({ ...base, min_pixels: 128 * 28 * 28 }, 'm')).toThrow(
      /min_pixels 100352.*at most 63504/,
    );
    try {
      parsePreprocessor({ ...base, image_std: [1, 1, 1] }, 'm');
    } catch (e) {
      expect(e).toMatchObject({ code: 'bad-config', file: 'preprocessor_config.json' });
    }
  });
});

describe('generation_config.json', () => {
  it('is optional: the official decoding when absent', () => {
    expect(parseGeneration(null, 'm', IDS)).toEqual({
      repetitionPenalty: 1.05,
      stopIds: [151645, 151643],
      from: 'official defaults',
      notes: [],
    });
  });

  it("reads Qwen2-VL's (greedy in effect) and notes a file that would sample", () => {
    expect(parseGeneration(read('generation_config.json'), 'tiny', IDS)).toMatchObject({
      repetitionPenalty: 1.05,
      stopIds: [151645, 151643],
      from: 'generation_config.json',
      notes: [],
    });
    const sampling = parseGeneration({ eos_token_id: 151645, top_k: 50, top_p: 0.9 }, 'm', IDS);
    expect(sampling.repetitionPenalty).toBe(1);
    expect(sampling.stopIds).toEqual([151645]);
    expect(sampling.notes[0]).toMatch(
      /asks for sampling \(top_k 50, top_p 0.9\); this app decodes greedily/,
    );
    expect(() => parseGeneration({ repetition_penalty: 'high' }, 'm', IDS)).toThrow(
      /generation_config.json repetition_penalty/,
    );
  });
});
