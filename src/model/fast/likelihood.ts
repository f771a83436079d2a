/**
 * EgoPlan likelihood ranking on the fast engine (same scores as ../likelihood.ts): the likelihood
 * prompt continues the official prompt's cache from the first token where the two differ (the
 * fixed-capacity cache keeps positions below `shared` as the official prompt left them), then each
 * choice's reply tokens run on top of it; every choice overwrites the same positions after the prompt.
 */
import { CHOICE_LETTERS, type ChoiceLetter } from '../../bench/index';
import { checkCancelled } from '../cancel';
import { meanNll } from '../decoding';
import { merge, replyIds, type LikelihoodInput } from '../likelihood';
import { mergedTokens } from '../pixels';
import { ropeIndex } from '../rope';
import { ModelError } from '../types';
import type { FastFeatures, FastModel } from './engine';
import { visualRows, type VisualRun } from './tables';

function runs(input: LikelihoodInput): VisualRun[] {
  return input.visuals.map((v) => ({ tokenId: v.tokenId, count: mergedTokens(v.grid) }));
}

function rowsOf(ids: readonly number[], input: LikelihoodInput): Int32Array {
  try {
    return visualRows(ids, runs(input));
  } catch (e) {
    throw new ModelError('prompt-mismatch', (e as Error).message, { cause: e });
  }
}

export async function scoreChoicesFast(
  input: LikelihoodInput,
  fast: FastModel,
  features: FastFeatures | null,
  shared: number,
): Promise<Record<ChoiceLetter, number>> {
  const ids = input.ids;
  const L = ids.length;
  const rope = ropeIndex(ids, input.grids, input.ropeTokens, merge(input));
  const all = rowsOf(ids, input);
  const head = await fast.rows({
    ids: ids.slice(shared),
    from: shared,
    rope,
    ropeLength: L,
    visual: all.slice(shared),
    features,
    keep: [L - shared - 1],
  });
  const vocab = head.vocab;
  const nll = {} as Record<ChoiceLetter, number>;
  for (const [i, letter] of CHOICE_LETTERS.entries()) {
    checkCancelled(input.cancelled, 'during likelihood scoring');
    const reply = replyIds(input, i);
    const rows = new Float32Array(reply.length * vocab);
    rows.set(head.logits.subarray(0, vocab), 0);
    if (reply.length > 1) {
      const feed = reply.slice(0, -1);
      const step = await fast.rows({
        ids: feed,
        from: L,
        rope,
        ropeLength: L,
        visual: new Int32Array(feed.length),
        features: null,
        keep: feed.map((_, k) => k),
      });
      rows.set(step.logits, vocab);
    }
    nll[letter] = meanNll(rows, vocab, reply);
  }
  return nll;
}

/** The check of the cached path: one full pass per choice from position 0. */
export async function scoreChoicesFastNoCache(
  input: LikelihoodInput,
  fast: FastModel,
  features: FastFeatures | null,
): Promise<Record<ChoiceLetter, number>> {
  const nll = {} as Record<ChoiceLetter, number>;
  for (const [i, letter] of CHOICE_LETTERS.entries()) {
    checkCancelled(input.cancelled, 'during likelihood scoring');
    const reply = replyIds(input, i);
    const ids = [...input.ids, ...reply.slice(0, -1)];
    const rope = ropeIndex(ids, input.grids, input.ropeTokens, merge(input));
    const out = await fast.rows({
      ids,
      from: 0,
      rope,
      ropeLength: ids.length,
      visual: rowsOf(ids, input),
      features,
      keep: reply.map((_, k) => ids.length - reply.length + k),
    });
    nll[letter] = meanNll(out.logits, out.vocab, reply);
  }
  return nll;
}
