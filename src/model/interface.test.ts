import { describe, expect, it } from 'vitest';
import { checkQwenInterface, type GraphInterface } from './interface';

/** The tiny export's interface as onnxruntime reports it (read from the committed graphs). */
function tiny(
  opts: { f16?: boolean; logitsToKeep?: boolean } = {},
): Record<string, GraphInterface> {
  const f = opts.f16 ? 'float16' : 'float32';
  const inputs = [
    { name: 'inputs_embeds', type: f, shape: ['batch_size', 'sequence_length', 16] },
    { name: 'attention_mask', type: 'int64', shape: ['batch_size', 'total_sequence_length'] },
    { name: 'position_ids', type: 'int64', shape: [3, 'batch_size', 'sequence_length'] },
    ...(opts.logitsToKeep === false
      ? []
      : [{ name: 'num_logits_to_keep', type: 'int64', shape: [] }]),
  ];
  const outputs = [{ name: 'logits', type: f, shape: ['batch_size', 'logits_length', 151936] }];
  for (let i = 0; i < 2; i++) {
    for (const k of ['key', 'value']) {
      inputs.push({
        name: `past_key_values.${i}.${k}`,
        type: f,
        shape: ['batch_size', 1, 'past_sequence_length', 8],
      });
      outputs.push({
        name: `present.${i}.${k}`,
        type: f,
        shape: ['batch_size', 1, 'total_sequence_length', 8],
      });
    }
  }
  return {
    embed_tokens: {
      inputs: [{ name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] }],
      outputs: [{ name: 'inputs_embeds', type: f, shape: ['batch_size', 'sequence_length', 16] }],
    },
    vision_encoder: {
      inputs: [
        { name: 'pixel_values', type: f, shape: ['num_patches', 1176] },
        { name: 'grid_thw', type: 'int64', shape: [1, 3] },
      ],
      outputs: [{ name: 'image_features', type: f, shape: ['num_features', 16] }],
    },
    decoder_model_merged: { inputs, outputs },
  };
}

const WANT = { layers: 2, kvHeads: 1, headDim: 8, hidden: 16, vocab: 151936 };

describe('checkQwenInterface', () => {
  it('accepts the tiny export and the hub interface (no num_logits_to_keep, float16 IO)', () => {
    const ours = checkQwenInterface(tiny(), WANT);
    expect(ours).toMatchObject({
      pixelType: 'float32',
      embedsType: 'float32',
      cacheType: 'float32',
      logitsToKeep: true,
    });
    const hub = checkQwenInterface(tiny({ f16: true, logitsToKeep: false }), WANT);
    expect(hub).toMatchObject({
      pixelType: 'float16',
      embedsType: 'float16',
      cacheType: 'float16',
      logitsToKeep: false,
    });
  });

  it("wants Qwen2.5-VL's vision grid input as transformers.js feeds it (image_grid_thw)", () => {
    const q25 = tiny();
    const grid = q25['vision_encoder']!.inputs.find((v) => v.name === 'grid_thw')!;
    grid.name = 'image_grid_thw';
    expect(checkQwenInterface(q25, { ...WANT, gridInput: 'image_grid_thw' })).toMatchObject({
      pixelType: 'float32',
    });
    expect(() => checkQwenInterface(q25, WANT)).toThrow(/grid_thw/);
    expect(() => checkQwenInterface(tiny(), { ...WANT, gridInput: 'image_grid_thw' })).toThrow(
      /image_grid_thw/,
    );
  });

  it('names the graph and the field that does not fit', () => {
    const missing = tiny();
    missing['vision_encoder']!.inputs = missing['vision_encoder']!.inputs.filter(
      (v) => v.name !== 'grid_thw',
    );
    expect(() => checkQwenInterface(missing, WANT)).toThrow(
      /^vision_encoder \(onnx\/vision_encoder.onnx\): has no input "grid_thw"/,
    );

    const layers = tiny();
    expect(() => checkQwenInterface(layers, { ...WANT, layers: 3 })).toThrow(
      /decoder_model_merged \(onnx\/decoder_model_merged.onnx\): has no input "past_key_values.2.key"/,
    );

    const heads = tiny();
    expect(() => checkQwenInterface(heads, { ...WANT, kvHeads: 2 })).toThrow(
      /"past_key_values.0.key" has size 1 at dimension 1, expected 2/,
    );

    const extra = tiny();
    extra['decoder_model_merged']!.inputs.push({
      name: 'use_cache_branch',
      type: 'bool',
      shape: [1],
    });
    expect(() => checkQwenInterface(extra, WANT)).toThrow(
      /input "use_cache_branch" is not part of the Qwen2-VL interface/,
    );

    const types = tiny();
    types['embed_tokens']!.inputs[0] = { name: 'input_ids', type: 'int32', shape: ['b', 's'] };
    expect(() => checkQwenInterface(types, WANT)).toThrow(
      /embed_tokens \(onnx\/embed_tokens.onnx\): input "input_ids" is int32, expected int64/,
    );

    const rank = tiny();
    rank['decoder_model_merged']!.inputs[2] = {
      name: 'position_ids',
      type: 'int64',
      shape: ['b', 's'],
    };
    expect(() => checkQwenInterface(rank, WANT)).toThrow(
      /"position_ids" has rank 2 \[b, s\], expected 3/,
    );

    const mixed = tiny();
    const present = mixed['decoder_model_merged']!.outputs.find(
      (v) => v.name === 'present.1.value',
    )!;
    present.type = 'float16';
    expect(() => checkQwenInterface(mixed, WANT)).toThrow(
      /"present.1.value" is float16, unlike past_key_values.0.key/,
    );

    try {
      checkQwenInterface(missing, WANT, { vision_encoder: 'onnx/vision_encoder_q4.onnx' });
    } catch (e) {
      expect(e).toMatchObject({ code: 'bad-interface', file: 'onnx/vision_encoder_q4.onnx' });
    }
  });
});
