import { describe, expect, it } from 'vitest';
import { modelBaseOf } from './cache';

describe('cached model files', () => {
  it('group by model folder, root files and onnx/ graphs alike', () => {
    const hub = 'https://huggingface.co/onnx-community/Qwen2-VL-2B-Instruct/resolve/main/';
    expect(modelBaseOf(`${hub}config.json`)).toBe(hub);
    expect(modelBaseOf(`${hub}onnx/vision_encoder_q4.onnx`)).toBe(hub);
    expect(modelBaseOf(`${hub}onnx/decoder_model_merged.onnx_data`)).toBe(hub);
    const local = 'http://127.0.0.1:4324/sub/path/models/tiny-random-qwen2-vl/';
    expect(modelBaseOf(`${local}tokenizer.json`)).toBe(local);
    expect(modelBaseOf(`${local}onnx/embed_tokens.onnx`)).toBe(local);
  });
});
