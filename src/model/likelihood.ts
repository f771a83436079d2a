/**
 * EgoPlan-style likelihood ranking: each choice text is scored as the assistant's reply to the
 * question (same visuals, no choices, no letters); the score is the mean negative log-likelihood
 * per token over the reply tokens plus <|im_end|>; the lowest wins.
 */
import {
  CHOICE_LETTERS,
  questionText,
  SYSTEM_PROMPT,
  type ChoiceLetter,
  type QuestionWording,
  type Sample,
} from '../bench/index';
import { checkCancelled, type CancelCheck } from './cancel';
import { meanNll } from './decoding';
import { decoderStep, disposePast, embed, prefill, type Past } from './kv';
import type { LoadedModel } from './load';
import type { Grid } from './pixels';
import { ropeIndex, textPositions, type RopeTokens } from './rope';
import { promptEmbeds, sliceRows, slicePositions, type Visual } from './visuals';

/** The likelihood-ranking prompt: the same visuals and question, no choices, no letters. */
export function likelihoodPrompt(
  sample: Sample,
  clipTokens: number | null,
  stillTokens: number,
  wording: QuestionWording,
): string {
  const clip =
    clipTokens === null
      ? ''
      : `<|vision_start|>${'<|video_pad|>'.repeat(clipTokens)}<|vision_end|>`;
  const still = `<|vision_start|>${'<|image_pad|>'.repeat(stillTokens)}<|vision_end|>`;
  return (
    `<|im_start|>system\n${SYSTEM_PROMPT}<|im_end|>\n` +
    `<|im_start|>user\n${clip}${still}${questionText(sample, wording)}<|im_end|>\n` +
    `<|im_start|>assistant\n`
  );
}

export interface LikelihoodInput {
  m: LoadedModel;
  sample: Sample;
  /** Token ids of likelihoodPrompt(). */
  ids: number[];
  visuals: Visual[];
  grids: { image: Grid[]; video: Grid[] };
  ropeTokens: RopeTokens;
  cancelled: CancelCheck;
}

/** Choice i as the model's reply: its text's tokens, then <|im_end|> (both engines score these). */
export function replyIds(input: LikelihoodInput, i: number): number[] {
  const text = input.sample.choices[i] ?? '';
  return [...input.m.tokenizer.encode(text, { add_special_tokens: false }), input.m.ids.imEnd];
}

export function merge(input: LikelihoodInput): number {
  return input.m.config.vision_config?.spatial_merge_size ?? 2;
}

/**
 * The fast path: `prefix` is the KV cache of the first `shared` prompt tokens (taken from the
 * official prompt, which starts the same way); the rest of the prompt runs once, and each choice
 * then runs only its own reply tokens on top of that shared cache.
 */
export async function scoreChoices(
  input: LikelihoodInput,
  prefix: Past,
  shared: number,
): Promise<Record<ChoiceLetter, number>> {
  const { m, ids } = input;
  const rope = ropeIndex(ids, input.grids, input.ropeTokens, merge(input));
  const rest = sliceRows(await promptEmbeds(m, ids, input.visuals), shared);
  const positions = slicePositions(rope.positions, ids.length, shared);
  // The rest of the prompt may be long (a clip's pads): in chunks where the decoder needs it.
  const head = await prefill(m, rest, positions, prefix, shared, 1);
  const vocab = head.vocab;
  const L = ids.length;
  const nll: Record<ChoiceLetter, number> = { A: NaN, B: NaN, C: NaN, D: NaN };
  try {
    for (const [i, letter] of CHOICE_LETTERS.entries()) {
      checkCancelled(input.cancelled, 'during likelihood scoring');
      const reply = replyIds(input, i);
      const rows = new Float32Array(reply.length * vocab);
      rows.set(head.logits.subarray(0, vocab), 0);
      if (reply.length > 1) {
        const feed = reply.slice(0, -1);
        const step = await decoderStep(
          m,
          await embed(m, feed),
          textPositions(L, feed.length, rope.delta),
          head.past,
          L,
          feed.length,
        );
        rows.set(step.logits, vocab);
        disposePast(step.past);
      }
      nll[letter] = meanNll(rows, vocab, reply);
    }
  } finally {
    disposePast(head.past);
  }
  return nll;
}

/** The plain path, for checking the fast one: one full forward pass per choice, no cache. */
export async function scoreChoicesNoCache(
  input: LikelihoodInput,
): Promise<Record<ChoiceLetter, number>> {
  const { m } = input;
  const nll: Record<ChoiceLetter, number> = { A: NaN, B: NaN, C: NaN, D: NaN };
  for (const [i, letter] of CHOICE_LETTERS.entries()) {
    checkCancelled(input.cancelled, 'during likelihood scoring');
    const reply = replyIds(input, i);
    const ids = [...input.ids, ...reply.slice(0, -1)];
    const rope = ropeIndex(ids, input.grids, input.ropeTokens, merge(input));
    const step = await prefill(
      m,
      await promptEmbeds(m, ids, input.visuals),
      rope.positions,
      null,
      0,
      reply.length,
    );
    disposePast(step.past);
    nll[letter] = meanNll(step.logits, step.vocab, reply);
  }
  return nll;
}
