import { describe, expect, it } from 'vitest';
import { sourceFromFiles } from './model-client';

function picked(path: string, size = 1): File {
  const f = new File([new Uint8Array(size)], path.split('/').pop() as string);
  Object.defineProperty(f, 'webkitRelativePath', { value: path });
  return f;
}

describe('sourceFromFiles', () => {
  it('strips the picked folder name so paths are relative to the model folder', () => {
    const src = sourceFromFiles([
      picked('Qwen2-VL-2B-Instruct/config.json'),
      picked('Qwen2-VL-2B-Instruct/onnx/decoder_model_merged_q4.onnx'),
    ]);
    expect(src.kind).toBe('files');
    if (src.kind !== 'files') return;
    expect(src.name).toBe('Qwen2-VL-2B-Instruct');
    expect(src.files.map((f) => f.path)).toEqual([
      'config.json',
      'onnx/decoder_model_merged_q4.onnx',
    ]);
  });

  it('keeps plain file names when files were picked without a folder', () => {
    const src = sourceFromFiles([new File(['{}'], 'config.json')]);
    expect(src.kind === 'files' && src.files.map((f) => f.path)).toEqual(['config.json']);
  });
});
