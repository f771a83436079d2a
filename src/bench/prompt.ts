import type { Sample } from './types';

/**
 * The official prompt (protocol section 3): one user turn, clip (if any), still, then the text.
 */

/** The fixed instruction appended after the choices (leading and trailing space are part of it). */
export const ANSWER_FORMAT_SUFFIX =
  ' Output the thinking process in <think> </think> and final answer in <answer> </answer> tags, i.e., <think> reasoning process here </think><answer> answer here </answer>. ';

export const SYSTEM_PROMPT = 'You are a helpful assistant.';

/**
 * How the question text is worded:
 * - 'as-is': the annotation file's text.
 * - 'seed-bench-r1': EgoPlan-derived questions say "... in the last frame"; SEED-Bench-R1 (which
 *   shows the observation as a separate image) says "... shown in the image", and drops the
 *   progress clause when there is no clip. Inferred with high confidence from the public
 *   SEED-Bench-R1 files (protocol section 1); a no-op on text already in that wording.
 */
export type QuestionWording = 'as-is' | 'seed-bench-r1';

const EGOPLAN_OPENING =
  /^Considering the progress shown in the video and my current observation in the last frame, /;

export function questionText(sample: Sample, wording: QuestionWording = 'as-is'): string {
  if (wording === 'as-is') return sample.question;
  return sample.question.replace(
    EGOPLAN_OPENING,
    sample.hasClip
      ? 'Considering the progress shown in the video and my current observation shown in the image, '
      : 'Considering my current observation shown in the image, ',
  );
}

/** `question\nA. ..\nB. ..\nC. ..\nD. ..\n`: the official results file's `problem` field. */
export function problemText(sample: Sample, wording: QuestionWording = 'as-is'): string {
  const [a, b, c, d] = sample.choices;
  return `${questionText(sample, wording)}\nA. ${a}\nB. ${b}\nC. ${c}\nD. ${d}\n`;
}

/** The text part of the user turn: problem followed by the answer-format instruction. */
export function promptText(sample: Sample, wording: QuestionWording = 'as-is'): string {
  return problemText(sample, wording) + ANSWER_FORMAT_SUFFIX;
}

export type ContentItem =
  | { type: 'video'; video: string }
  | { type: 'image'; image: string }
  | { type: 'text'; text: string };

export interface ChatMessage {
  role: 'user';
  content: ContentItem[];
}

/**
 * The official chat messages (as the Python script builds them), with dataset-relative paths.
 * A question without a still uses its clip's last frame; the path says so.
 */
export function chatMessages(sample: Sample, wording: QuestionWording = 'as-is'): ChatMessage[] {
  const content: ContentItem[] = [];
  const clip = sample.clipPaths?.[0] ?? null;
  if (sample.hasClip && clip) content.push({ type: 'video', video: clip });
  content.push({ type: 'image', image: sample.stillPath ?? `${clip ?? '?'}#last-frame` });
  content.push({ type: 'text', text: promptText(sample, wording) });
  return [{ role: 'user', content }];
}

export interface VisualTokenCounts {
  /** Tokens of the clip (`n/2 * 81` for n frames at 252x252); null when the question has none. */
  clipTokens: number | null;
  /** Tokens of the still (81 at 252x252). */
  stillTokens: number;
}

/** Tokens one visual of grid [t, h, w] takes after the 2x2 spatial merge. */
export function visualTokenCount(grid: readonly [number, number, number]): number {
  return (grid[0] * grid[1] * grid[2]) / 4;
}

/**
 * The full Qwen2-VL chat template rendering, with the pad tokens expanded to the visual token
 * counts (what the processor feeds the tokenizer). Counts of 1 give the unexpanded template.
 */
export function renderChatPrompt(
  sample: Sample,
  counts: VisualTokenCounts,
  wording: QuestionWording = 'as-is',
): string {
  const clip =
    counts.clipTokens === null
      ? ''
      : `<|vision_start|>${'<|video_pad|>'.repeat(counts.clipTokens)}<|vision_end|>`;
  const still = `<|vision_start|>${'<|image_pad|>'.repeat(counts.stillTokens)}<|vision_end|>`;
  return (
    `<|im_start|>system\n${SYSTEM_PROMPT}<|im_end|>\n` +
    `<|im_start|>user\n${clip}${still}${promptText(sample, wording)}<|im_end|>\n` +
    `<|im_start|>assistant\n`
  );
}
