// The official chat template, written out here from ../shared/docs/protocol.md section 3 (not from
// src/bench), so tests can check the prompt hash the model recorded against an independent
// rendering: system turn, then the clip's pads (n/2 * 81 for n frames), the still's 81 pads, the
// problem text and the answer-format instruction.
import { createHash } from 'node:crypto';

const SUFFIX =
  ' Output the thinking process in <think> </think> and final answer in <answer> </answer> tags, i.e., <think> reasoning process here </think><answer> answer here </answer>. ';

export function protocolPrompt(problem: string, clipFrames: number | null): string {
  const clip =
    clipFrames === null
      ? ''
      : `<|vision_start|>${'<|video_pad|>'.repeat((clipFrames / 2) * 81)}<|vision_end|>`;
  const still = `<|vision_start|>${'<|image_pad|>'.repeat(81)}<|vision_end|>`;
  return (
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
    `<|im_start|>user\n${clip}${still}${problem}${SUFFIX}<|im_end|>\n<|im_start|>assistant\n`
  );
}

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** A results.jsonl line's fields the check needs. */
export interface PromptLine {
  problem: string;
  prompt: { content: { type: string }[] }[];
  frame_indices: number[] | null;
  model_prompt_sha256: string | null;
}

/** The hash the official template gives for this line's problem (clip pads when it has a video). */
export function expectedHash(l: PromptLine): string {
  const hasVideo = l.prompt[0]?.content.some((c) => c.type === 'video') ?? false;
  return sha256(protocolPrompt(l.problem, hasVideo ? (l.frame_indices?.length ?? 0) : null));
}
