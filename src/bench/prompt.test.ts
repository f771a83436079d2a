import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  chatMessages,
  parseBenchmarkFile,
  promptText,
  questionText,
  renderChatPrompt,
} from './index';

const SHARED = new URL('../../../shared/seedbench/', import.meta.url);
const egoplan = parseBenchmarkFile(
  'EgoPlan_validation.json',
  readFileSync(new URL('EgoPlan_validation.json', SHARED), 'utf8'),
);
const sample = (id: string) => {
  const s = egoplan.samples.find((x) => x.sampleId === id);
  if (!s) throw new Error(`no sample ${id}`);
  return s;
};

const SUFFIX =
  ' Output the thinking process in <think> </think> and final answer in <answer> </answer> tags, i.e., <think> reasoning process here </think><answer> answer here </answer>. ';

describe('the official prompt (protocol section 3)', () => {
  it('renders EgoPlan sample 115 exactly like the protocol example', () => {
    const text =
      'Considering the progress shown in the video and my current observation shown in the image, what action should I take next in order to store cereal?\n' +
      'A. put cereal box into cupboard\nB. take cereal bag\nC. open cupboard\nD. put cereal bag into cereal box\n' +
      SUFFIX;
    expect(promptText(sample('115'), 'seed-bench-r1')).toBe(text);
    expect(
      renderChatPrompt(sample('115'), { clipTokens: 1, stillTokens: 1 }, 'seed-bench-r1'),
    ).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n' +
        '<|vision_start|><|video_pad|><|vision_end|><|vision_start|><|image_pad|><|vision_end|>' +
        text +
        '<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('expands the pads to the visual token counts', () => {
    const p = renderChatPrompt(sample('115'), { clipTokens: 648, stillTokens: 81 });
    expect(p.match(/<\|video_pad\|>/g)).toHaveLength(648);
    expect(p.match(/<\|image_pad\|>/g)).toHaveLength(81);
  });

  it('leaves the clip out and rewords the question when there is no progress', () => {
    const s = sample('5');
    expect(s.hasClip).toBe(false);
    expect(questionText(s, 'seed-bench-r1')).toBe(
      'Considering my current observation shown in the image, what action should I take next in order to prepare the garlic and chilli and wash the plate?',
    );
    const p = renderChatPrompt(s, { clipTokens: null, stillTokens: 81 }, 'seed-bench-r1');
    expect(p).not.toContain('<|video_pad|>');
    expect(p).toContain('<|im_start|>user\n<|vision_start|><|image_pad|>');
    expect(
      chatMessages(s)
        .at(0)
        ?.content.map((c) => c.type),
    ).toEqual(['image', 'text']);
  });

  it('keeps the file wording by default and keeps choices in file order', () => {
    const s = sample('115');
    expect(questionText(s)).toContain('in the last frame');
    expect(chatMessages(s)[0]?.content.map((c) => c.type)).toEqual(['video', 'image', 'text']);
    expect(promptText(s).endsWith('D. put cereal bag into cereal box\n' + SUFFIX)).toBe(true);
  });
});
