import { describe, expect, it } from 'vitest';
import { remoteBase } from './files';

describe('remoteBase', () => {
  it('maps a Hugging Face id to its resolve URL (revision main unless given)', () => {
    expect(remoteBase({ kind: 'hub', id: 'onnx-community/Qwen2-VL-2B-Instruct' })).toBe(
      'https://huggingface.co/onnx-community/Qwen2-VL-2B-Instruct/resolve/main/',
    );
    expect(remoteBase({ kind: 'hub', id: 'a/b', revision: 'refs/pr/3' })).toBe(
      'https://huggingface.co/a/b/resolve/refs%2Fpr%2F3/',
    );
  });

  it('refuses a string that is not an owner/name id', () => {
    expect(() => remoteBase({ kind: 'hub', id: 'https://evil.example/x' })).toThrow(
      /not a Hugging Face model id/,
    );
  });

  it('ends a folder URL with a slash', () => {
    expect(remoteBase({ kind: 'url', url: '/models/tiny-random-qwen2-vl' })).toBe(
      '/models/tiny-random-qwen2-vl/',
    );
  });
});
