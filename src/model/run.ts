/**
 * One question through Qwen2-VL: pixel_values from the prepared frames, vision encoding per
 * temporal slice, the official prompt with expanded pads, M-RoPE positions, greedy decoding with
 * the official repetition penalty, and the scoring passes.
 */
import { Tensor } from '@huggingface/transformers';
import {
  CHOICE_LETTERS,
  questionText,
  renderChatPrompt,
  SYSTEM_PROMPT,
  type ChoiceLetter,
  type QuestionWording,
  type Sample,
} from '../bench/index';
import { applyRepetitionPenalty, argmax, commonPrefix, logProbs, meanNll, topK } from './decoding';
import { decoderStep, disposePast, embed, prefixOfPast, type Past } from './kv';
import type { LoadedModel } from './load';
import { mergedTokens, patchify, type Grid, type Patches } from './pixels';
import { ropeIndex, textPositions } from './rope';
import { OFFICIAL_MAX_NEW_TOKENS, OFFICIAL_REPETITION_PENALTY } from './constants';
import { classifyError, memoryUse } from './runtime';
import type { ModelVisuals, QuestionResult, QuestionTimings, RunOptions } from './types';
import { ModelError } from './types';

interface Visual {
  tokenId: number;
  patches: Patches;
  features: Tensor | null;
}

type CancelCheck = () => boolean;

/**
 * Cancellation: an AbortSignal, and/or a shared Int32Array flag that the UI thread sets with
 * Atomics (seen at once even while the worker never returns to its event loop).
 */
function cancelCheck(options: RunOptions): CancelCheck {
  const { signal, cancelFlag } = options;
  return () =>
    (signal?.aborted ?? false) || (cancelFlag !== undefined && Atomics.load(cancelFlag, 0) !== 0);
}

/** Let queued messages (a cancel) run: ORT's async runs may resolve without leaving the task. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

function checkCancelled(cancelled: CancelCheck, where: string): void {
  if (cancelled()) throw new ModelError('cancelled', `cancelled ${where}`);
}

/** The pixel side of the frames (square, CHW float). */
function frameSide(frame: Float32Array, what: string): number {
  const side = Math.round(Math.sqrt(frame.length / 3));
  if (side * side * 3 !== frame.length)
    throw new ModelError('bad-visuals', `${what}: not a square 3-channel frame`);
  return side;
}

/** The likelihood-ranking prompt: the same visuals and question, no choices, no letters. */
function likelihoodPrompt(
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

/** Encode a visual one temporal slice at a time (exact: Qwen2-VL's vision attention is per slice). */
async function encodeVisual(m: LoadedModel, v: Visual, cancelled: CancelCheck): Promise<Tensor> {
  const [t, h, w] = v.patches.grid;
  const rows = h * w;
  const parts: Tensor[] = [];
  for (let s = 0; s < t; s++) {
    checkCancelled(cancelled, 'during vision encoding');
    const slice = v.patches.data.subarray(
      s * rows * v.patches.rowLength,
      (s + 1) * rows * v.patches.rowLength,
    );
    const features = (await m.model.encode_image({
      pixel_values: new Tensor('float32', slice, [rows, v.patches.rowLength]),
      image_grid_thw: new Tensor('int64', BigInt64Array.from([1n, BigInt(h), BigInt(w)]), [1, 3]),
    })) as Tensor;
    parts.push(features);
  }
  if (parts.length === 1) return parts[0] as Tensor;
  const hidden = parts[0]?.dims[1] as number;
  const first = parts[0] as Tensor;
  const Ctor = (first.data as Float32Array).constructor as new (n: number) => Float32Array;
  const all = new Ctor(parts.reduce((n, p) => n + p.data.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p.data as Float32Array, o);
    o += p.data.length;
  }
  return new Tensor(first.type as 'float32', all, [all.length / hidden, hidden]);
}

/** Token embeddings with each visual's features written over its pad run, in prompt order. */
async function promptEmbeds(
  m: LoadedModel,
  ids: readonly number[],
  visuals: Visual[],
): Promise<Tensor> {
  const embeds = await embed(m, ids);
  const hidden = embeds.dims[2] as number;
  const data = embeds.data as Float32Array;
  let v = 0;
  for (let i = 0; i < ids.length;) {
    const visual = visuals[v];
    if (!visual || ids[i] !== visual.tokenId) {
      i++;
      continue;
    }
    const features = visual.features as Tensor;
    const f = (features.type === embeds.type ? features : features.to(embeds.type))
      .data as Float32Array;
    const n = features.dims[0] as number;
    for (let k = 0; k < n; k++) {
      if (ids[i + k] !== visual.tokenId)
        throw new ModelError('prompt-mismatch', `visual ${v}: pad run shorter than ${n} features`);
    }
    data.set(f, i * hidden);
    i += n;
    v++;
  }
  if (v !== visuals.length)
    throw new ModelError(
      'prompt-mismatch',
      `prompt has ${v} visual runs, expected ${visuals.length}`,
    );
  return embeds;
}

function sliceRows(t: Tensor, from: number): Tensor {
  const [b, n, hidden] = t.dims as [number, number, number];
  const data = (t.data as Float32Array).slice(from * hidden, n * hidden);
  return new Tensor(t.type as 'float32', data, [b, n - from, hidden]);
}

function slicePositions(p: BigInt64Array, length: number, from: number): BigInt64Array {
  const n = length - from;
  const out = new BigInt64Array(3 * n);
  for (let r = 0; r < 3; r++) out.set(p.subarray(r * length + from, (r + 1) * length), r * n);
  return out;
}

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
    wasmHeapBytes: null,
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

  // 3. Vision encoder, one temporal slice per call.
  t = performance.now();
  for (const item of items) item.features = await encodeVisual(m, item, cancelled);
  timings.visionMs = performance.now() - t;

  // 4. Prefill: one forward pass over the prompt, keeping only the last position's logits.
  checkCancelled(cancelled, 'before prefill');
  t = performance.now();
  const embeds = await promptEmbeds(m, inputIds, items);
  const prefill = await decoderStep(m, embeds, rope.positions, null, 0, 1);
  timings.prefillMs = performance.now() - t;
  const firstLogits = prefill.logits.slice(0, prefill.vocab);
  const vocab = prefill.vocab;

  const result: QuestionResult = {
    response: '',
    outputIds: [],
    inputIds,
    stopReason: 'not-run',
    timings,
    device: m.device,
    dtype: m.dtype,
  };
  // 5. Official greedy decoding with the repetition penalty over every id present. The prompt's
  // cache is kept (not disposed) while decoding when the likelihood pass will reuse it.
  const keepPrompt = options.scoring.likelihood;
  let past: Past = prefill.past;
  if (options.scoring.official) {
    const maxNew = options.maxNewTokens ?? OFFICIAL_MAX_NEW_TOKENS;
    const stops = new Set([m.ids.imEnd, m.ids.endOfText]);
    const seen = new Set(inputIds);
    let logits: Float32Array = firstLogits.slice();
    let pastLength = inputIds.length;
    let decodeStart = performance.now();
    for (;;) {
      applyRepetitionPenalty(logits, seen, OFFICIAL_REPETITION_PENALTY);
      const next = argmax(logits);
      result.outputIds.push(next);
      seen.add(next);
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
      const step = await decoderStep(
        m,
        await embed(m, [next]),
        textPositions(pastLength, 1, rope.delta),
        past,
        pastLength,
        1,
      );
      if (past !== prefill.past || !keepPrompt) disposePast(past);
      past = step.past;
      pastLength += 1;
      logits = step.logits;
    }
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
  if (past !== prefill.past || !keepPrompt) disposePast(past);

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
      likPrefix = await prefixOfPast(prefill.past, shared);
    }
    disposePast(prefill.past);
    timings.likelihoodMs += performance.now() - t;
  }

  // 7. Likelihood ranking: mean NLL of each choice text (plus <|im_end|>) as the reply.
  if (likIds && likPrefix && result.stopReason !== 'cancelled') {
    checkCancelled(cancelled, 'before likelihood scoring');
    t = performance.now();
    const likRope = ropeIndex(
      likIds,
      grids,
      ropeTokens,
      cfg.vision_config?.spatial_merge_size ?? 2,
    );
    const likEmbeds = sliceRows(await promptEmbeds(m, likIds, items), shared);
    const head = await decoderStep(
      m,
      likEmbeds,
      slicePositions(likRope.positions, likIds.length, shared),
      likPrefix,
      shared,
      1,
    );
    const L = likIds.length;
    const nll = {} as Record<ChoiceLetter, number>;
    for (const [i, letter] of CHOICE_LETTERS.entries()) {
      checkCancelled(cancelled, 'during likelihood scoring');
      const reply = [
        ...m.tokenizer.encode(sample.choices[i] as string, { add_special_tokens: false }),
        m.ids.imEnd,
      ];
      const rows = new Float32Array(reply.length * vocab);
      rows.set(head.logits.subarray(0, vocab), 0);
      if (reply.length > 1) {
        const feed = reply.slice(0, -1);
        const step = await decoderStep(
          m,
          await embed(m, feed),
          textPositions(L, feed.length, likRope.delta),
          head.past,
          L,
          feed.length,
        );
        rows.set(step.logits, vocab);
        disposePast(step.past);
      }
      nll[letter] = meanNll(rows, vocab, reply);
    }
    disposePast(head.past);
    result.choiceNll = nll;
    timings.likelihoodMs += performance.now() - t;
  }

  const mem = memoryUse();
  timings.wasmHeapBytes = mem.wasmHeapBytes;
  timings.jsHeapBytes = mem.jsHeapBytes;
  timings.totalMs = performance.now() - t0;
  return result;
}
