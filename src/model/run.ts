/**
 * One question through Qwen2-VL: pixel_values from the prepared frames, vision encoding per
 * temporal slice, the official prompt with expanded pads, M-RoPE positions, greedy decoding with
 * the official repetition penalty, and the scoring passes.
 */
import {
  CHOICE_LETTERS,
  renderChatPrompt,
  type ChoiceLetter,
  type QuestionWording,
  type Sample,
} from '../bench/index';
import { cancelCheck, checkCancelled, yieldToEventLoop } from './cancel';
import { OFFICIAL_MAX_NEW_TOKENS, OFFICIAL_REPETITION_PENALTY } from './constants';
import { applyRepetitionPenalty, argmax, commonPrefix, logProbs, topK } from './decoding';
import {
  decoderStep,
  disposePast,
  embed,
  pastBytes,
  prefixOfPast,
  type Past,
  type StepResult,
} from './kv';
import { likelihoodPrompt, scoreChoices, scoreChoicesNoCache } from './likelihood';
import type { LoadedModel } from './load';
import { mergedTokens, patchify, type Grid } from './pixels';
import { ropeIndex, textPositions, type RopeTokens } from './rope';
import { classifyError, memoryUse } from './runtime';
import type { ModelVisuals, QuestionResult, QuestionTimings, RunOptions } from './types';
import { ModelError } from './types';
import { encodeVisuals, frameSide, promptEmbeds, type Visual } from './visuals';
import type { FastFeatures } from './fast/engine';
import { scoreChoicesFast, scoreChoicesFastNoCache } from './fast/likelihood';

export async function runQuestion(
  m: LoadedModel,
  sample: Sample,
  visuals: ModelVisuals,
  options: RunOptions,
): Promise<QuestionResult> {
  const where = `question ${sample.sampleId}`;
  try {
    return await runInner(m, sample, visuals, options);
  } catch (e) {
    const err = classifyError(e, where);
    // A lost device is announced asynchronously; give the announcement a moment to land.
    if (m.device === 'webgpu' && !m.deviceLost) await new Promise((r) => setTimeout(r, 100));
    if (m.deviceLost && err.code === 'runtime') {
      throw new ModelError('device-lost', `${where}: WebGPU device lost (${m.deviceLost})`, {
        cause: e,
      });
    }
    if (!err.message.includes(where)) err.message = `${where}: ${err.message}`;
    throw err;
  }
}

async function runInner(
  m: LoadedModel,
  sample: Sample,
  visuals: ModelVisuals,
  options: RunOptions,
): Promise<QuestionResult> {
  const cancelled = cancelCheck(options);
  const wording = options.wording ?? 'as-is';
  const t0 = performance.now();
  const cfg = m.config;
  const timings: QuestionTimings = {
    framePrepMs: 0,
    tokenizeMs: 0,
    visionMs: 0,
    prefillMs: 0,
    timeToFirstTokenMs: null,
    decodeMs: 0,
    decodeTokens: 0,
    decodeTokensPerS: null,
    letterMs: 0,
    likelihoodMs: 0,
    totalMs: 0,
    promptTokens: 0,
    kvCacheBytes: 0,
    jsHeapBytes: null,
  };
  if (m.deviceLost)
    throw new ModelError(
      'device-lost',
      `WebGPU device lost before this question (${m.deviceLost})`,
    );

  // 1. pixel_values: the clip (when the question has one) then the still, as two visual items.
  let t = performance.now();
  const useClip = sample.hasClip;
  if (useClip && (!visuals.clip || visuals.clip.frames.length < 2)) {
    throw new ModelError(
      'bad-visuals',
      'the question has a progress clip but fewer than 2 clip frames were prepared',
    );
  }
  const items: Visual[] = [];
  if (useClip && visuals.clip) {
    const frames = visuals.clip.frames;
    const side = frameSide(frames[0] as Float32Array, 'clip frame 0');
    items.push({
      tokenId: cfg.video_token_id,
      patches: patchify(frames, side, side),
      features: null,
    });
  }
  const stillSide = frameSide(visuals.still, 'still');
  items.push({
    tokenId: cfg.image_token_id,
    patches: patchify([visuals.still], stillSide, stillSide),
    features: null,
  });
  timings.framePrepMs = performance.now() - t;

  // 2. The official prompt, pads expanded per grid.
  t = performance.now();
  const clipGrid: Grid | null = useClip ? (items[0] as Visual).patches.grid : null;
  const stillGrid = (items[items.length - 1] as Visual).patches.grid;
  const counts = {
    clipTokens: clipGrid ? mergedTokens(clipGrid) : null,
    stillTokens: mergedTokens(stillGrid),
  };
  const inputIds = m.tokenizer.encode(renderChatPrompt(sample, counts, wording), {
    add_special_tokens: false,
  });
  timings.tokenizeMs = performance.now() - t;
  timings.promptTokens = inputIds.length;
  const grids = { image: [stillGrid], video: clipGrid ? [clipGrid] : [] };
  const ropeTokens = {
    imageTokenId: cfg.image_token_id,
    videoTokenId: cfg.video_token_id,
    visionStartTokenId: cfg.vision_start_token_id,
  };
  let rope;
  try {
    rope = ropeIndex(inputIds, grids, ropeTokens, cfg.vision_config?.spatial_merge_size ?? 2);
  } catch (e) {
    throw new ModelError('prompt-mismatch', (e as Error).message, { cause: e });
  }

  // 3. Vision encoder: the fast engine takes every slice in one call, the reference one per slice.
  t = performance.now();
  const fastFeatures = await encodeVisuals(m, items, cancelled);
  timings.visionMs = performance.now() - t;
  try {
    return await generateAndScore(m, sample, options, cancelled, t0, timings, {
      items,
      inputIds,
      rope,
      grids,
      ropeTokens,
      counts,
      wording,
      fastFeatures,
    });
  } finally {
    fastFeatures?.tensor.dispose();
  }
}

async function generateAndScore(
  m: LoadedModel,
  sample: Sample,
  options: RunOptions,
  cancelled: () => boolean,
  t0: number,
  timings: QuestionTimings,
  q: {
    items: Visual[];
    inputIds: number[];
    rope: ReturnType<typeof ropeIndex>;
    grids: { image: Grid[]; video: Grid[] };
    ropeTokens: RopeTokens;
    counts: { clipTokens: number | null; stillTokens: number };
    wording: QuestionWording;
    fastFeatures: FastFeatures | null;
  },
): Promise<QuestionResult> {
  const { items, inputIds, rope, grids, ropeTokens, counts, wording, fastFeatures } = q;
  const fast = m.fast;
  // 4. Prefill: one forward pass over the prompt, keeping only the last position's logits.
  checkCancelled(cancelled, 'before prefill');
  let t = performance.now();
  let prefill: StepResult | null = null;
  let firstLogits: Float32Array;
  let fastFirst = -1;
  if (fast) {
    const runs = items.map((v) => ({ tokenId: v.tokenId, count: mergedTokens(v.patches.grid) }));
    const out = await fast.prefill(inputIds, runs, fastFeatures, rope);
    firstLogits = out.logits.slice(0, fast.manifest.text.vocab);
    fastFirst = out.first;
  } else {
    const embeds = await promptEmbeds(m, inputIds, items);
    prefill = await decoderStep(m, embeds, rope.positions, null, 0, 1);
    firstLogits = prefill.logits.slice(0, prefill.vocab);
  }
  timings.prefillMs = performance.now() - t;

  const result: QuestionResult = {
    response: '',
    outputIds: [],
    inputIds,
    stopReason: 'not-run',
    timings,
    device: m.device,
    dtype: m.dtype,
    engine: m.engine,
    engineNote: fast
      ? `${m.engineNote.split(';')[0] ?? ''}; ${fast.stats().captureNote}`
      : m.engineNote,
  };
  // 5. Official greedy decoding with the repetition penalty over every id present. The prompt's
  // cache is kept (not disposed) while decoding when the likelihood pass will reuse it.
  const keepPrompt = options.scoring.likelihood;
  let past: Past | null = prefill?.past ?? null;
  if (options.scoring.official) {
    const maxNew = options.maxNewTokens ?? OFFICIAL_MAX_NEW_TOKENS;
    const stops = new Set([m.ids.imEnd, m.ids.endOfText]);
    const seen = new Set(inputIds);
    let logits: Float32Array = firstLogits.slice();
    let pastLength = inputIds.length;
    // The next greedy token: on the fast engine the graph applies the penalty and the argmax on the
    // device (the prefill gave the first one); here, on the CPU over the last logits row.
    const nextToken = async (previous: number | null): Promise<number> => {
      if (fast) return previous === null ? fastFirst : fast.next(previous);
      if (previous !== null) {
        const step = await decoderStep(
          m,
          await embed(m, [previous]),
          textPositions(pastLength, 1, rope.delta),
          past,
          pastLength,
          1,
        );
        if (past !== prefill?.past || !keepPrompt) disposePast(past);
        past = step.past;
        pastLength += 1;
        logits = step.logits;
      }
      applyRepetitionPenalty(logits, seen, OFFICIAL_REPETITION_PENALTY);
      const next = argmax(logits);
      seen.add(next);
      return next;
    };
    let decodeStart = performance.now();
    let previous: number | null = null;
    try {
      for (;;) {
        const next: number = await nextToken(previous);
        previous = next;
        result.outputIds.push(next);
        if (result.outputIds.length === 1) {
          timings.timeToFirstTokenMs = performance.now() - t0;
          decodeStart = performance.now();
        }
        if (stops.has(next)) {
          result.stopReason = 'eos';
          break;
        }
        result.response = m.tokenizer.decode(result.outputIds, {
          skip_special_tokens: true,
          clean_up_tokenization_spaces: false,
        });
        options.onToken?.(result.response, next);
        if (result.outputIds.length >= maxNew) {
          result.stopReason = 'max-tokens';
          break;
        }
        if (!options.cancelFlag) await yieldToEventLoop();
        if (cancelled()) {
          result.stopReason = 'cancelled';
          break;
        }
      }
    } finally {
      // The fast engine's pipeline runs ahead of the last token used: let those steps finish.
      await fast?.drain();
    }
    const profile = await fast?.takeProfile();
    if (profile) result.profile = profile;
    timings.decodeMs = performance.now() - decodeStart;
    timings.decodeTokens = Math.max(0, result.outputIds.length - 1);
    timings.decodeTokensPerS =
      timings.decodeMs > 0 && timings.decodeTokens > 0
        ? (timings.decodeTokens / timings.decodeMs) * 1000
        : null;
    result.response = m.tokenizer.decode(result.outputIds, {
      skip_special_tokens: true,
      clean_up_tokenization_spaces: false,
    });
  }
  timings.kvCacheBytes = fast ? fast.stats().kvBytes : past ? pastBytes(past) : 0;
  if (past && (past !== prefill?.past || !keepPrompt)) disposePast(past);

  // 6. Letter scoring: log-softmax of the raw first-position logits (no penalty).
  t = performance.now();
  if (options.topLogits) result.topLogits = topK(firstLogits, options.topLogits);
  if (options.logitsAt) result.logitsAt = options.logitsAt.map((id) => firstLogits[id] ?? NaN);
  if (options.scoring.letters) {
    const lp = logProbs(firstLogits, m.ids.letters);
    result.letterLogprobs = Object.fromEntries(
      CHOICE_LETTERS.map((l, i) => [l, lp[i] as number]),
    ) as Record<ChoiceLetter, number>;
  }
  timings.letterMs = performance.now() - t;

  // The likelihood pass reuses the official prompt's cache up to where the two prompts diverge.
  let likIds: number[] | null = null;
  let shared = 0;
  let likPrefix: Past | null = null;
  if (keepPrompt) {
    t = performance.now();
    if (result.stopReason !== 'cancelled') {
      likIds = m.tokenizer.encode(
        likelihoodPrompt(sample, counts.clipTokens, counts.stillTokens, wording),
        { add_special_tokens: false },
      );
      shared = Math.min(commonPrefix(inputIds, likIds), likIds.length - 1);
      // The fast engine's cache keeps the shared prefix in place: nothing to copy.
      if (prefill) likPrefix = await prefixOfPast(prefill.past, shared);
    }
    if (prefill) disposePast(prefill.past);
    timings.likelihoodMs += performance.now() - t;
  }

  // 7. Likelihood ranking of the choice texts on the shared prompt cache.
  if (likIds && (likPrefix || fast) && result.stopReason !== 'cancelled') {
    checkCancelled(cancelled, 'before likelihood scoring');
    t = performance.now();
    const input = { m, sample, ids: likIds, visuals: items, grids, ropeTokens, cancelled };
    if (likPrefix) result.choiceNll = await scoreChoices(input, likPrefix, shared);
    else if (fast) result.choiceNll = await scoreChoicesFast(input, fast, fastFeatures, shared);
    timings.likelihoodMs += performance.now() - t;
    if (options.checkLikelihood) {
      result.choiceNllNoCache = fast
        ? await scoreChoicesFastNoCache(input, fast, fastFeatures)
        : await scoreChoicesNoCache(input);
    }
  }

  const mem = memoryUse();
  timings.jsHeapBytes = mem.jsHeapBytes;
  timings.totalMs = performance.now() - t0;
  return result;
}
