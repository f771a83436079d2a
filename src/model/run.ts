/**
 * One question through Qwen2-VL or Qwen2.5-VL: pixel_values from the prepared frames, vision encoding (per
 * temporal slice on the reference engine, every slice in one run on the fast one), the official prompt with expanded pads, M-RoPE positions, greedy decoding with
 * the official repetition penalty, and the scoring passes.
 */
import {
  errorMessage,
  renderChatPrompt,
  sha256Hex,
  type ModelPrompt,
  type QuestionOptions,
  type Sample,
} from '../bench/index';
import { cancelCheck, checkCancelled, yieldToEventLoop } from './cancel';
import { applyRepetitionPenalty, argmax, commonPrefix, logProbs, topK } from './decoding';
import {
  decoderStep,
  disposePast,
  embed,
  pastBytes,
  prefill,
  prefixOfPast,
  type Past,
  type StepResult,
} from './kv';
import { likelihoodPrompt, scoreChoices, scoreChoicesNoCache } from './likelihood';
import type { LoadedModel } from './load';
import { mergedTokens, patchify, patchTables, type Grid } from './pixels';
import { modelFamily, tokensPerSecond } from './model-config';
import { ropeIndex, secondPerGrid, textPositions, type RopeIndex, type RopeTokens } from './rope';
import { classifyError, memoryUse } from './runtime';
import type { ModelAnswer, ModelVisuals, QuestionTimings, RunHooks } from './types';
import { ModelError } from './types';
import { encodeVisuals, frameSide, promptEmbeds, type Visual } from './visuals';
import type { FastFeatures } from './fast/engine';
import type { FrameVisual } from './fast/patchify';
import { scoreChoicesFast, scoreChoicesFastNoCache } from './fast/likelihood';

export async function runQuestion(
  m: LoadedModel,
  sample: Sample,
  visuals: ModelVisuals,
  options: QuestionOptions,
  hooks: RunHooks,
): Promise<ModelAnswer> {
  const where = `question ${sample.sampleId}`;
  try {
    return await runInner(m, sample, visuals, options, hooks);
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
  options: QuestionOptions,
  hooks: RunHooks,
): Promise<ModelAnswer> {
  const cancelled = cancelCheck(hooks);
  const { wording } = options;
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
    wasmHeapBytes: null,
  };
  if (m.deviceLost)
    throw new ModelError(
      'device-lost',
      `WebGPU device lost before this question (${m.deviceLost})`,
    );

  // 1. pixel_values: the clip (when the question has one) then the still, as two visual items.
  let t = performance.now();
  const frames = sample.hasClip ? (visuals.clip?.frames ?? []) : null;
  const firstFrame = frames?.[0];
  if (frames && (!firstFrame || frames.length < 2)) {
    throw new ModelError(
      'bad-visuals',
      'the question has a progress clip but fewer than 2 clip frames were prepared',
    );
  }
  const stillSide = frameSide(visuals.still, 'still');
  const sources: { tokenId: number; visual: FrameVisual }[] = [];
  if (frames && firstFrame) {
    const side = frameSide(firstFrame, 'clip frame 0');
    sources.push({ tokenId: cfg.video_token_id, visual: { frames, height: side, width: side } });
  }
  sources.push({
    tokenId: cfg.image_token_id,
    visual: { frames: [visuals.still], height: stillSide, width: stillSide },
  });
  // The fast engine on WebGPU builds the patch rows on the GPU (bitwise patchify's); else here.
  const staged =
    m.fast?.stagePatches(
      sources.map((x) => x.visual),
      patchTables(m.preprocess),
    ) ?? null;
  const items: Visual[] = sources.map(({ tokenId, visual: v }, i) => {
    const patches = staged ? null : patchify(v.frames, v.height, v.width, m.preprocess);
    const grid = staged?.grids[i] ?? patches?.grid;
    if (!grid) throw new ModelError('bad-visuals', 'no patch grid for a visual');
    return { tokenId, grid, patches, features: null };
  });
  const clipItem = items.length === 2 ? items[0] : undefined;
  const stillItem = items.at(-1);
  if (!stillItem) throw new ModelError('bad-visuals', 'the question has no still');
  timings.framePrepMs = performance.now() - t;

  // 2. The official prompt, pads expanded per grid.
  t = performance.now();
  const clipGrid: Grid | null = clipItem ? clipItem.grid : null;
  const stillGrid = stillItem.grid;
  const counts = {
    clipTokens: clipGrid ? mergedTokens(clipGrid) : null,
    stillTokens: mergedTokens(stillGrid),
  };
  // What the model gets is recorded here, from the very text handed to the tokenizer.
  const promptText = renderChatPrompt(sample, counts, wording);
  const inputIds = m.tokenizer.encode(promptText, { add_special_tokens: false });
  const prompt = {
    wording,
    tokens: inputIds.length,
    sha256: sha256Hex(promptText),
    clipTokens: counts.clipTokens,
    stillTokens: counts.stillTokens,
  };
  timings.tokenizeMs = performance.now() - t;
  timings.promptTokens = inputIds.length;
  const grids = { image: [stillGrid], video: clipGrid ? [clipGrid] : [] };
  // Qwen2.5-VL: the clip's absolute time, as the official pipeline derives it (n sampled of N
  // frames at the container's fps).
  const tps = tokensPerSecond(cfg);
  const clip = visuals.clip;
  if (tps !== null && clipGrid && !(clip && clip.frameCount >= 2 && clip.fps > 0)) {
    throw new ModelError(
      'bad-visuals',
      `Qwen2.5-VL's video positions need the clip's frame count and fps (got ${clip?.frameCount ?? 'none'} frames at ${clip?.fps ?? 'no'} fps)`,
    );
  }
  const videoTime =
    tps !== null && clipGrid && frames && clip
      ? {
          secondPerGrid: [
            secondPerGrid(frames.length, clip.frameCount, clip.fps, m.preprocess.temporalPatch),
          ],
          tokensPerSecond: tps,
        }
      : null;
  const ropeTokens: RopeTokens = {
    imageTokenId: cfg.image_token_id,
    videoTokenId: cfg.video_token_id,
    visionStartTokenId: cfg.vision_start_token_id,
    videoTime,
  };
  let rope;
  try {
    rope = ropeIndex(inputIds, grids, ropeTokens, cfg.vision_config?.spatial_merge_size ?? 2);
  } catch (e) {
    throw new ModelError('prompt-mismatch', errorMessage(e), { cause: e });
  }

  // 3. Vision encoder: the fast engine takes every slice in one call, the reference one per slice.
  t = performance.now();
  const fastFeatures = await encodeVisuals(m, items, staged, cancelled);
  timings.visionMs = performance.now() - t;
  try {
    return await generateAndScore(m, sample, options, hooks, cancelled, t0, timings, {
      items,
      inputIds,
      prompt,
      rope,
      grids,
      ropeTokens,
      counts,
      fastFeatures,
    });
  } finally {
    fastFeatures?.tensor.dispose();
  }
}

async function generateAndScore(
  m: LoadedModel,
  sample: Sample,
  options: QuestionOptions,
  hooks: RunHooks,
  cancelled: () => boolean,
  t0: number,
  timings: QuestionTimings,
  q: {
    items: Visual[];
    inputIds: number[];
    prompt: ModelPrompt;
    rope: RopeIndex;
    grids: { image: Grid[]; video: Grid[] };
    ropeTokens: RopeTokens;
    counts: { clipTokens: number | null; stillTokens: number };
    fastFeatures: FastFeatures | null;
  },
): Promise<ModelAnswer> {
  const { items, inputIds, prompt, rope, grids, ropeTokens, counts, fastFeatures } = q;
  const { wording, probes } = options;
  const fast = m.fast;
  // 4. Prefill over the prompt, keeping only the last position's logits (reference engine: in
  // chunks through the cache where the decoder lacks num_logits_to_keep; fast engine: its graph
  // returns the rows asked for, and the first greedy token).
  checkCancelled(cancelled, 'before prefill');
  let t = performance.now();
  let head: StepResult | null = null;
  let firstLogits: Float32Array;
  let fastFirst = -1;
  if (fast) {
    const runs = items.map((v) => ({ tokenId: v.tokenId, count: mergedTokens(v.grid) }));
    const out = await fast.prefill(inputIds, runs, fastFeatures, rope);
    firstLogits = out.logits.slice(0, fast.manifest.text.vocab);
    fastFirst = out.first;
  } else {
    const embeds = await promptEmbeds(m, inputIds, items);
    head = await prefill(m, embeds, rope.positions, null, 0, 1);
    firstLogits = head.logits.slice(0, head.vocab);
  }
  timings.prefillMs = performance.now() - t;

  const result: ModelAnswer = {
    response: '',
    prompt,
    outputIds: [],
    inputIds,
    stopReason: 'not-run',
    timings,
    device: m.device,
    dtype: m.dtype,
    engine: m.engine,
    engineNote: fast
      ? [m.engineNote.split(';')[0] ?? '', fast.stats().captureNote, fast.patchesNote]
          .filter(Boolean)
          .join('; ')
      : m.engineNote,
    family: modelFamily(m.config),
    videoTime: ropeTokens.videoTime
      ? {
          secondPerGridTs: ropeTokens.videoTime.secondPerGrid[0] ?? NaN,
          tokensPerSecond: ropeTokens.videoTime.tokensPerSecond,
        }
      : null,
  };
  // 5. Official greedy decoding with the repetition penalty over every id present. The prompt's
  // cache is kept (not disposed) while decoding when the likelihood pass will reuse it.
  const keepPrompt = options.scoring.likelihood;
  let past: Past | null = head?.past ?? null;
  if (options.scoring.official) {
    const maxNew = options.maxNewTokens;
    // generation_config.json's stop ids and penalty, or the official ones when it is absent (the
    // fast graphs apply the manifest's penalty, checked equal to it at load).
    const stops = new Set(m.generation.stopIds);
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
        if (past !== head?.past || !keepPrompt) disposePast(past);
        past = step.past;
        pastLength += 1;
        logits = step.logits;
      }
      applyRepetitionPenalty(logits, seen, m.generation.repetitionPenalty);
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
        hooks.onToken?.(result.response, next);
        if (result.outputIds.length >= maxNew) {
          result.stopReason = 'max-tokens';
          break;
        }
        // A shared flag is seen without a message; otherwise let a queued 'cancel' message run.
        if (!hooks.cancelFlag) await yieldToEventLoop();
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
  if (past && (past !== head?.past || !keepPrompt)) disposePast(past);

  // 6. Letter scoring: log-softmax of the raw first-position logits (no penalty).
  t = performance.now();
  if (probes.topLogits > 0) result.topLogits = topK(firstLogits, probes.topLogits);
  if (probes.logitsAt.length > 0)
    result.logitsAt = probes.logitsAt.map((id) => firstLogits[id] ?? NaN);
  if (options.scoring.letters) {
    const [a, b, c, d] = logProbs(firstLogits, m.ids.letters);
    result.letterLogprobs = { A: a ?? NaN, B: b ?? NaN, C: c ?? NaN, D: d ?? NaN };
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
      if (head) likPrefix = await prefixOfPast(head.past, shared);
    }
    if (head) disposePast(head.past);
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
    if (probes.checkLikelihood) {
      result.choiceNllNoCache = fast
        ? await scoreChoicesFastNoCache(input, fast, fastFeatures)
        : await scoreChoicesNoCache(input);
    }
  }

  const mem = memoryUse();
  timings.jsHeapBytes = mem.jsHeapBytes;
  timings.wasmHeapBytes = mem.wasmHeapBytes;
  timings.totalMs = performance.now() - t0;
  return result;
}
