/**
 * The JSON files of a Qwen2-VL or Qwen2.5-VL export, validated: config.json (architecture and token ids),
 * preprocessor_config.json (checked against the protocol's preprocessing, which the app
 * implements; a mismatch is an error naming the field), generation_config.json (optional: the
 * official decoding when absent). Pure, so Vitest covers it.
 */
import { z } from 'zod';
import { FRAME_SIZE, OFFICIAL_REPETITION_PENALTY } from './constants';
import { MERGE_SIZE, PATCH_SIZE, QWEN2VL_MEAN, QWEN2VL_STD, TEMPORAL_PATCH } from './pixels';
import { ModelError } from './types';

const count = z.number().int().positive();

const qwenConfig = z.looseObject({
  model_type: z.string(),
  architectures: z.array(z.string()).optional(),
  image_token_id: z.number().int(),
  video_token_id: z.number().int(),
  vision_start_token_id: z.number().int(),
  vision_end_token_id: z.number().int().optional(),
  vocab_size: count.optional(),
  hidden_size: count.optional(),
  num_hidden_layers: count.optional(),
  num_attention_heads: count.optional(),
  num_key_value_heads: count.optional(),
  head_dim: count.optional(),
  tie_word_embeddings: z.boolean().optional(),
  text_config: z.looseObject({}).optional(),
  // transformers.js's external-data setting: true / a chunk count, for all files or per file.
  'transformers.js_config': z
    .looseObject({
      use_external_data_format: z
        .union([z.boolean(), z.number(), z.record(z.string(), z.union([z.boolean(), z.number()]))])
        .nullish(),
    })
    .optional(),
  vision_config: z
    .looseObject({
      spatial_merge_size: count.optional(),
      patch_size: count.optional(),
      temporal_patch_size: count.optional(),
      embed_dim: count.optional(),
      in_chans: count.optional(),
      in_channels: count.optional(),
      // Qwen2.5-VL: the vision width is hidden_size (out_hidden_size is the text width it maps to).
      hidden_size: count.optional(),
      out_hidden_size: count.optional(),
      tokens_per_second: z.number().positive().optional(),
      window_size: count.optional(),
      fullatt_block_indexes: z.array(z.number().int().nonnegative()).optional(),
    })
    .optional(),
});
export type QwenConfig = z.infer<typeof qwenConfig>;

/** The two model families this app runs; they differ in the vision tower and the video's time. */
export type ModelFamily = 'qwen2_vl' | 'qwen2_5_vl';

const FAMILIES: Record<ModelFamily, { architecture: string; name: string }> = {
  qwen2_vl: { architecture: 'Qwen2VLForConditionalGeneration', name: 'Qwen2-VL' },
  qwen2_5_vl: { architecture: 'Qwen2_5_VLForConditionalGeneration', name: 'Qwen2.5-VL' },
};

function isFamily(t: unknown): t is ModelFamily {
  return t === 'qwen2_vl' || t === 'qwen2_5_vl';
}

/** The family a parsed config.json describes (parseQwenConfig refused every other). */
export function modelFamily(c: QwenConfig): ModelFamily {
  if (!isFamily(c.model_type)) throw new Error(`not a Qwen2-VL family model: ${c.model_type}`);
  return c.model_type;
}

/** The family's display name: Qwen2-VL or Qwen2.5-VL. */
export function familyName(f: ModelFamily): string {
  return FAMILIES[f].name;
}

// transformers' Qwen2_5_VLVisionConfig default, where a config.json leaves the field out.
const DEFAULT_TOKENS_PER_SECOND = 4;

/**
 * Qwen2.5-VL's video time scale (vision_config.tokens_per_second, 2 in every released checkpoint;
 * transformers' default 4 when absent); null for Qwen2-VL, whose video t index is the slice index.
 */
export function tokensPerSecond(c: QwenConfig): number | null {
  if (modelFamily(c) !== 'qwen2_5_vl') return null;
  return c.vision_config?.tokens_per_second ?? DEFAULT_TOKENS_PER_SECOND;
}

function issue(e: z.ZodError): string {
  const first = e.issues[0];
  return first ? `${first.path.join('.') || '(top level)'}: ${first.message}` : 'invalid';
}

/** config.json of a Qwen2-VL or Qwen2.5-VL export; other architectures are refused by name. */
const architecture = z.looseObject({
  model_type: z.unknown(),
  architectures: z.array(z.unknown()).optional().catch(undefined),
});

export function parseQwenConfig(raw: unknown, label: string): QwenConfig {
  const head = architecture.safeParse(raw);
  const c = head.success ? head.data : null;
  const arch = c?.architectures?.length ? String(c.architectures[0]) : undefined;
  const family = isFamily(c?.model_type) ? c.model_type : null;
  if (!c || !family || (arch !== undefined && arch !== FAMILIES[family].architecture)) {
    throw new ModelError(
      'wrong-architecture',
      `${label}: config.json describes model_type "${String(c?.model_type)}"${arch ? ` (${arch})` : ''}; this app runs Qwen2-VL (qwen2_vl, Qwen2VLForConditionalGeneration) and Qwen2.5-VL (qwen2_5_vl, Qwen2_5_VLForConditionalGeneration)`,
      { file: 'config.json' },
    );
  }
  const parsed = qwenConfig.safeParse(raw);
  if (!parsed.success) {
    throw new ModelError('bad-config', `${label}: config.json ${issue(parsed.error)}`, {
      file: 'config.json',
    });
  }
  const v = parsed.data.vision_config ?? {};
  const geometry: [string, number | undefined, number][] = [
    ['vision_config.patch_size', v.patch_size, PATCH_SIZE],
    ['vision_config.temporal_patch_size', v.temporal_patch_size, TEMPORAL_PATCH],
    ['vision_config.spatial_merge_size', v.spatial_merge_size, MERGE_SIZE],
    ['vision_config.in_channels', v.in_channels ?? v.in_chans, 3],
  ];
  for (const [field, got, want] of geometry) {
    if (got !== undefined && got !== want) {
      throw new ModelError(
        'bad-config',
        `${label}: config.json ${field} is ${got}; ${FAMILIES[family].name}'s processor (and this app) use ${want}`,
        { file: 'config.json' },
      );
    }
  }
  return parsed.data;
}

/** A text-model field: top level (transformers.js's layout) or in text_config (transformers 5's). */
export function textField(c: QwenConfig, key: string): number | undefined {
  const top = c[key];
  if (typeof top === 'number') return top;
  const nested = c.text_config?.[key];
  return typeof nested === 'number' ? nested : undefined;
}

/**
 * transformers.js's reading of `use_external_data_format` for one graph file: its chunk count, or
 * null when config.json says nothing (the loader then looks for a NAME.onnx_data beside it).
 */
export function externalDataChunks(c: QwenConfig, file: string): number | null {
  const v = c['transformers.js_config']?.use_external_data_format;
  if (v === undefined || v === null) return null;
  if (typeof v === 'object') {
    const entry = v[file];
    return entry === undefined ? null : Number(entry);
  }
  return Number(v);
}

const preprocessorConfig = z.looseObject({
  image_mean: z.tuple([z.number(), z.number(), z.number()]).optional(),
  image_std: z.tuple([z.number(), z.number(), z.number()]).optional(),
  rescale_factor: z.number().optional(),
  do_rescale: z.boolean().optional(),
  do_normalize: z.boolean().optional(),
  do_resize: z.boolean().optional(),
  patch_size: count.optional(),
  temporal_patch_size: count.optional(),
  merge_size: count.optional(),
  min_pixels: count.optional(),
  max_pixels: count.optional(),
  size: z
    .looseObject({ shortest_edge: count.optional(), longest_edge: count.optional() })
    .optional(),
});

/** The preprocessing constants an export declares (all equal to the protocol's once checked). */
export interface Preprocess {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  rescale: number;
  patchSize: number;
  temporalPatch: number;
  mergeSize: number;
  minPixels: number;
  maxPixels: number;
}

// Qwen2VLImageProcessor's own defaults, where a file leaves a field out.
const PROCESSOR_DEFAULTS = { minPixels: 56 * 56, maxPixels: 28 * 28 * 1280 };

/**
 * preprocessor_config.json, checked against protocol.md section 2: rescale 1/255, the CLIP mean and
 * std, 14 x 14 patches, temporal patch 2, merge 2, and pixel bounds that keep a 252 x 252 frame at
 * 252 x 252 (a file whose bounds would resize it describes other inputs than the benchmark's).
 */
export function parsePreprocessor(raw: unknown, label: string): Preprocess {
  const file = 'preprocessor_config.json';
  const parsed = preprocessorConfig.safeParse(raw);
  if (!parsed.success) {
    throw new ModelError('bad-config', `${label}: ${file} ${issue(parsed.error)}`, { file });
  }
  const p = parsed.data;
  const bad = (field: string, got: unknown, want: unknown) =>
    new ModelError(
      'bad-config',
      `${label}: ${file} has ${field} ${JSON.stringify(got)}, but the protocol's preprocessing (which this app implements) uses ${JSON.stringify(want)}`,
      { file },
    );
  const close = (a: readonly number[], b: readonly number[], tol: number) =>
    a.length === b.length && a.every((x, i) => Math.abs(x - (b[i] ?? NaN)) <= tol);
  const mean: Preprocess['mean'] = p.image_mean ?? QWEN2VL_MEAN;
  const std: Preprocess['std'] = p.image_std ?? QWEN2VL_STD;
  // The JSON holds the same 8-digit decimals as the protocol; 1e-7 is float32 rounding of them.
  if (!close(mean, QWEN2VL_MEAN, 1e-7)) throw bad('image_mean', mean, QWEN2VL_MEAN);
  if (!close(std, QWEN2VL_STD, 1e-7)) throw bad('image_std', std, QWEN2VL_STD);
  const rescale = p.rescale_factor ?? 1 / 255;
  if (Math.abs(rescale - 1 / 255) > 1e-9) throw bad('rescale_factor', rescale, 1 / 255);
  if (p.do_rescale === false) throw bad('do_rescale', false, true);
  if (p.do_normalize === false) throw bad('do_normalize', false, true);
  const patchSize = p.patch_size ?? PATCH_SIZE;
  const temporalPatch = p.temporal_patch_size ?? TEMPORAL_PATCH;
  const mergeSize = p.merge_size ?? MERGE_SIZE;
  if (patchSize !== PATCH_SIZE) throw bad('patch_size', patchSize, PATCH_SIZE);
  if (temporalPatch !== TEMPORAL_PATCH)
    throw bad('temporal_patch_size', temporalPatch, TEMPORAL_PATCH);
  if (mergeSize !== MERGE_SIZE) throw bad('merge_size', mergeSize, MERGE_SIZE);
  const minPixels = p.min_pixels ?? p.size?.shortest_edge ?? PROCESSOR_DEFAULTS.minPixels;
  const maxPixels = p.max_pixels ?? p.size?.longest_edge ?? PROCESSOR_DEFAULTS.maxPixels;
  const frame = FRAME_SIZE * FRAME_SIZE;
  if (frame < minPixels) throw bad('min_pixels', minPixels, `at most ${frame} (252 x 252)`);
  if (frame > maxPixels) throw bad('max_pixels', maxPixels, `at least ${frame} (252 x 252)`);
  return {
    mean,
    std,
    rescale,
    patchSize,
    temporalPatch,
    mergeSize,
    minPixels,
    maxPixels,
  };
}

const generationConfig = z.looseObject({
  repetition_penalty: z.number().positive().optional(),
  eos_token_id: z.union([z.number().int(), z.array(z.number().int()).min(1)]).optional(),
  do_sample: z.boolean().optional(),
  top_k: z.number().int().optional(),
  top_p: z.number().optional(),
  temperature: z.number().optional(),
});

/** How generation runs: the official settings, or the export's generation_config.json. */
export interface GenerationSettings {
  repetitionPenalty: number;
  /** Token ids that end generation. */
  stopIds: number[];
  from: 'generation_config.json' | 'official defaults';
  /** What the file asks for that this app does not do (it always decodes greedily). */
  notes: string[];
}

/**
 * generation_config.json when the export has one (as transformers' generate reads it: an absent
 * repetition_penalty is 1.0), else Qwen2-VL's official values (protocol section 4). The official
 * script samples with the file's top_k/top_p at temperature 1; Qwen2-VL's top_k 1 makes that
 * greedy. A file that would really sample is noted: this app decodes greedily.
 */
export function parseGeneration(
  raw: unknown,
  label: string,
  official: { imEnd: number; endOfText: number },
): GenerationSettings {
  if (raw === null) {
    return {
      repetitionPenalty: OFFICIAL_REPETITION_PENALTY,
      stopIds: [official.imEnd, official.endOfText],
      from: 'official defaults',
      notes: [],
    };
  }
  const file = 'generation_config.json';
  const parsed = generationConfig.safeParse(raw);
  if (!parsed.success) {
    throw new ModelError('bad-config', `${label}: ${file} ${issue(parsed.error)}`, { file });
  }
  const g = parsed.data;
  const eos = g.eos_token_id === undefined ? [] : [g.eos_token_id].flat();
  const notes: string[] = [];
  const topK = g.top_k ?? 50; // transformers' default
  // The official script passes do_sample=1 itself, so the file's do_sample does not matter.
  if (topK !== 1 && (g.top_p ?? 1) > 0.01) {
    notes.push(
      `${file} asks for sampling (top_k ${topK}, top_p ${g.top_p ?? 1}); this app decodes greedily`,
    );
  }
  if (eos.length === 0)
    notes.push(`${file} has no eos_token_id; stopping at <|im_end|> and <|endoftext|>`);
  return {
    repetitionPenalty: g.repetition_penalty ?? 1,
    stopIds: eos.length > 0 ? eos : [official.imEnd, official.endOfText],
    from: file,
    notes,
  };
}
