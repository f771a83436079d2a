/**
 * The Qwen2-VL graph interface the app feeds (transformers.js's layout, as the public
 * onnx-community exports and ours have it), checked against what each loaded session declares, so
 * that a graph from another export fails at load with one message naming the graph and the field,
 * instead of deep inside a run. Pure: the sessions' metadata come in as plain data.
 */
import { z } from 'zod';
import { ModelError } from './types';

/** One input or output as onnxruntime declares it (InferenceSession.ValueMetadata). */
export interface ValueInfo {
  name: string;
  /** 'float32', 'float16', 'int64', ...; undefined for non-tensors. */
  type?: string;
  /** Numbers for fixed dimensions, strings for symbolic ones; [] when a scalar or unknown. */
  shape?: readonly (number | string)[];
}

export interface GraphInterface {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

const valueInfo = z.looseObject({
  name: z.string(),
  type: z.string().optional(),
  shape: z.array(z.union([z.number(), z.string()])).optional(),
});
const names = z.array(z.string());
// onnxruntime-web's InferenceSession: names always, metadata (types, shapes) from 1.21 on.
const session = z.looseObject({
  inputNames: names,
  outputNames: names,
  inputMetadata: z.array(valueInfo).optional(),
  outputMetadata: z.array(valueInfo).optional(),
});

/** A loaded session's declared inputs and outputs, as plain data (read through its getters). */
export function sessionInterface(value: unknown, graph: string, file: string): GraphInterface {
  const parsed = session.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    fail(graph, file, `the session's metadata is not readable (${first?.path.join('.') ?? ''})`);
  }
  const s = parsed.data;
  const plain = (v: z.infer<typeof valueInfo>): ValueInfo => ({
    name: v.name,
    ...(v.type !== undefined ? { type: v.type } : {}),
    ...(v.shape !== undefined ? { shape: [...v.shape] } : {}),
  });
  return {
    inputs: s.inputMetadata?.map(plain) ?? s.inputNames.map((name) => ({ name })),
    outputs: s.outputMetadata?.map(plain) ?? s.outputNames.map((name) => ({ name })),
  };
}

export type FloatType = 'float32' | 'float16';

/** What the app needs to know of the loaded graphs after the check. */
export interface QwenInterface {
  graphs: Record<string, GraphInterface>;
  /** pixel_values' declared type (what the vision encoder is fed). */
  pixelType: FloatType;
  /** inputs_embeds' declared type at the decoder (what the prompt embeddings are cast to). */
  embedsType: FloatType;
  /** The KV cache's type (past_key_values.*). */
  cacheType: FloatType;
  /** Whether the decoder takes num_logits_to_keep (else every prefill position's logits return). */
  logitsToKeep: boolean;
}

export interface InterfaceExpectation {
  layers: number;
  kvHeads?: number;
  headDim?: number;
  hidden?: number;
  vocab?: number;
  /**
   * The vision encoder's grid input: transformers.js feeds Qwen2-VL's `grid_thw` and
   * Qwen2.5-VL's `image_grid_thw` (its `image_grid_thw_name`). Default `grid_thw`.
   */
  gridInput?: 'grid_thw' | 'image_grid_thw';
}

interface Field {
  name: string;
  types: readonly string[];
  rank: number;
  /** Fixed sizes expected at some dimensions (only checked when the graph fixes them too). */
  dims?: Record<number, number | undefined>;
  optional?: boolean;
}

const FLOAT = ['float32', 'float16'] as const;

/** A failure naming the graph, the file it was loaded from, and the field. */
function fail(graph: string, file: string, message: string): never {
  throw new ModelError('bad-interface', `${graph} (${file}): ${message}`, { file });
}

function checkFields(
  graph: string,
  file: string,
  kind: 'input' | 'output',
  declared: readonly ValueInfo[],
  wanted: readonly Field[],
  allowOthers: boolean,
): void {
  const byName = new Map(declared.map((v) => [v.name, v]));
  for (const f of wanted) {
    const v = byName.get(f.name);
    if (!v) {
      if (f.optional) continue;
      fail(
        graph,
        file,
        `has no ${kind} "${f.name}" (declares ${[...byName.keys()].join(', ') || 'none'})`,
      );
    }
    if (v.type === undefined || !f.types.includes(v.type)) {
      fail(
        graph,
        file,
        `${kind} "${f.name}" is ${v.type ?? 'not a tensor'}, expected ${f.types.join(' or ')}`,
      );
    }
    // An empty shape means "unknown" for anything but a scalar: nothing to check then.
    const shape = v.shape ?? [];
    if (shape.length > 0 && shape.length !== f.rank) {
      fail(
        graph,
        file,
        `${kind} "${f.name}" has rank ${shape.length} [${shape.join(', ')}], expected ${f.rank}`,
      );
    }
    for (const [i, size] of Object.entries(f.dims ?? {})) {
      const got = shape[Number(i)];
      if (size !== undefined && typeof got === 'number' && got !== size) {
        fail(
          graph,
          file,
          `${kind} "${f.name}" has size ${got} at dimension ${i}, expected ${size}`,
        );
      }
    }
  }
  if (!allowOthers) {
    const known = new Set(wanted.map((f) => f.name));
    const extra = declared.filter((v) => !known.has(v.name));
    if (extra.length > 0) {
      fail(
        graph,
        file,
        `${kind} "${extra[0]?.name}" is not part of the Qwen2-VL interface, so the app cannot feed it`,
      );
    }
  }
}

function typeOf(g: GraphInterface, name: string): FloatType {
  const t = [...g.inputs, ...g.outputs].find((v) => v.name === name)?.type;
  return t === 'float16' ? 'float16' : 'float32';
}

/**
 * The reference vision encoder's interface (also what the fast engine feeds a manifest's reference
 * vision graph): pixel_values [N, 1176], the grid input [1, 3]; image_features [N / 4, hidden].
 */
export function checkVisionInterface(
  vision: GraphInterface,
  want: Pick<InterfaceExpectation, 'hidden' | 'gridInput'>,
  file: string,
  pixelTypes: readonly string[] = FLOAT,
): void {
  checkFields(
    'vision_encoder',
    file,
    'input',
    vision.inputs,
    [
      { name: 'pixel_values', types: pixelTypes, rank: 2, dims: { 1: 1176 } },
      { name: want.gridInput ?? 'grid_thw', types: ['int64'], rank: 2, dims: { 1: 3 } },
    ],
    false,
  );
  checkFields(
    'vision_encoder',
    file,
    'output',
    vision.outputs,
    [{ name: 'image_features', types: FLOAT, rank: 2, dims: { 1: want.hidden } }],
    true,
  );
}

/** Check the three graphs against the interface; the summary the app feeds them by. */
export function checkQwenInterface(
  graphs: Record<string, GraphInterface | undefined>,
  want: InterfaceExpectation,
  files: Record<string, string> = {},
): QwenInterface {
  const fileOf = (g: string) => files[g] ?? `onnx/${g}.onnx`;
  const embed = graphs['embed_tokens'];
  const vision = graphs['vision_encoder'];
  const decoder = graphs['decoder_model_merged'];
  if (!embed) fail('embed_tokens', fileOf('embed_tokens'), 'no such session');
  if (!vision) fail('vision_encoder', fileOf('vision_encoder'), 'no such session');
  if (!decoder) fail('decoder_model_merged', fileOf('decoder_model_merged'), 'no such session');

  checkFields(
    'embed_tokens',
    fileOf('embed_tokens'),
    'input',
    embed.inputs,
    [{ name: 'input_ids', types: ['int64'], rank: 2 }],
    false,
  );
  checkFields(
    'embed_tokens',
    fileOf('embed_tokens'),
    'output',
    embed.outputs,
    [{ name: 'inputs_embeds', types: FLOAT, rank: 3, dims: { 2: want.hidden } }],
    true,
  );
  checkVisionInterface(vision, want, fileOf('vision_encoder'));

  const cache = { 1: want.kvHeads, 3: want.headDim };
  const inputs: Field[] = [
    { name: 'inputs_embeds', types: FLOAT, rank: 3, dims: { 2: want.hidden } },
    { name: 'attention_mask', types: ['int64'], rank: 2 },
    { name: 'position_ids', types: ['int64'], rank: 3, dims: { 0: 3 } },
    { name: 'num_logits_to_keep', types: ['int64'], rank: 0, optional: true },
  ];
  const outputs: Field[] = [{ name: 'logits', types: FLOAT, rank: 3, dims: { 2: want.vocab } }];
  for (let i = 0; i < want.layers; i++) {
    for (const kind of ['key', 'value']) {
      inputs.push({ name: `past_key_values.${i}.${kind}`, types: FLOAT, rank: 4, dims: cache });
      outputs.push({ name: `present.${i}.${kind}`, types: FLOAT, rank: 4, dims: cache });
    }
  }
  checkFields(
    'decoder_model_merged',
    fileOf('decoder_model_merged'),
    'input',
    decoder.inputs,
    inputs,
    false,
  );
  checkFields(
    'decoder_model_merged',
    fileOf('decoder_model_merged'),
    'output',
    decoder.outputs,
    outputs,
    true,
  );
  const cacheType = typeOf(decoder, 'past_key_values.0.key');
  for (let i = 0; i < want.layers; i++) {
    for (const kind of ['key', 'value']) {
      for (const name of [`past_key_values.${i}.${kind}`, `present.${i}.${kind}`]) {
        if (typeOf(decoder, name) !== cacheType) {
          fail(
            'decoder_model_merged',
            fileOf('decoder_model_merged'),
            `"${name}" is ${typeOf(decoder, name)}, unlike past_key_values.0.key (${cacheType}): the cache is fed back as is`,
          );
        }
      }
    }
  }
  return {
    graphs: { embed_tokens: embed, vision_encoder: vision, decoder_model_merged: decoder },
    pixelType: typeOf(vision, 'pixel_values'),
    embedsType: typeOf(decoder, 'inputs_embeds'),
    cacheType,
    logitsToKeep: decoder.inputs.some((v) => v.name === 'num_logits_to_keep'),
  };
}
