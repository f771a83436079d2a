/**
 * onnx/fast.json: the manifest scripts/export/fast (build()) writes beside the fast graphs: which
 * files each dtype needs (graphs and the external-data files they reference), the shapes, and the
 * rotary inverse frequencies. Validated with zod; a bad manifest is an error naming the file.
 * `vision.graph` 'reference' (Qwen2.5-VL): the vision graph listed is the model's own reference
 * vision encoder, which the engine runs per temporal slice (there is no fast Qwen2.5-VL tower).
 * `graphs[dtype].vision.graph` 'reference': that dtype only lists the reference vision encoder (q8:
 * its activations are quantised per tensor at run time, so only the per-slice graph quantises the
 * reference's rows).
 */
import { z } from 'zod';
import { ModelError, type Q4Int8Mode } from '../types';

export const FAST_MANIFEST = 'onnx/fast.json';
export const FAST_FORMAT = 'seedbench-fast/1';

const graph = z.object({
  /** Path in the model folder, e.g. onnx/decoder_fast_q4.onnx. */
  file: z.string(),
  /** External data: `path` as the graph names it (mounted under that name), `file` in the folder. */
  data: z.array(z.object({ path: z.string(), file: z.string() })),
  nodes: z.number().int().positive(),
});

/**
 * A weight a feed graph takes as an input: its bytes lie in `file` (a graph's external data, or a
 * small model's .onnx itself) at `offset`; `type` is ONNX's element type name in lower case.
 */
const feedWeight = z.object({
  name: z.string(),
  type: z.enum(['float', 'uint8']),
  dims: z.array(z.number().int().nonnegative()),
  file: z.string(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().positive(),
});

/** A dtype's vision graph; `graph` 'reference' where this dtype runs the reference vision encoder. */
const visionGraph = graph.extend({ graph: z.literal('reference').optional() });

/** The fast vision graph (Qwen2-VL's tower, every slice in one run); `graph` absent or 'fast'. */
const fastVision = z.object({
  graph: z.literal('fast').optional(),
  embed: z.number().int().positive(),
  heads: z.number().int().positive(),
  head_dim: z.number().int().positive(),
  patch: z.number().int().positive(),
  temporal_patch: z.number().int().positive(),
  merge: z.number().int().positive(),
  out_hidden: z.number().int().positive(),
  inv_freq: z.array(z.number().positive()),
});

const manifest = z.object({
  format: z.literal(FAST_FORMAT),
  text: z.object({
    vocab: z.number().int().positive(),
    hidden: z.number().int().positive(),
    layers: z.number().int().positive(),
    heads: z.number().int().positive(),
    kv_heads: z.number().int().positive(),
    head_dim: z.number().int().positive(),
    /** The cache's (and GroupQueryAttention's) head size: head_dim padded to a multiple of 16. */
    kv_head_dim: z.number().int().positive(),
    mrope_section: z.array(z.number().int().positive()).length(3),
    inv_freq: z.array(z.number().positive()),
  }),
  vision: z.discriminatedUnion('graph', [
    z.object({
      /** The folder's reference vision encoder (pixel_values, a grid input; image_features). */
      graph: z.literal('reference'),
      patch: z.number().int().positive(),
      temporal_patch: z.number().int().positive(),
      merge: z.number().int().positive(),
      out_hidden: z.number().int().positive(),
    }),
    fastVision,
  ]),
  repetition_penalty: z.number().positive(),
  graphs: z.record(
    z.string(),
    z.object({
      decoder: graph,
      vision: visionGraph,
      /**
       * q4: the same graphs with int8 activations (accuracy_level 4 on every MatMulNBits, the q4
       * graphs' own weight bytes; scripts/export/fast/a8.py); no vision entry: the exact one serves.
       */
      a8: z.object({ decoder: graph, vision: graph.optional() }).optional(),
      /**
       * The decoder without its repetition penalty and argmax (logits and present_* only; no `seen`,
       * no `next_token`; scripts/export/fast/step.py): what a captured decode step replays, the app
       * picking the next id in one dispatch of its own (gpu.ts pickNext).
       */
      step: graph.optional(),
      /**
       * The decoder, step and a8 decoder graphs with their weights as inputs (scripts/export/fast/
       * feed.py): on WebGPU the prefill and decode sessions are fed one copy (weights.ts) instead of
       * each uploading its own.
       */
      feed: z
        .object({
          weights: z.array(feedWeight).min(1),
          decoder: graph,
          step: graph.optional(),
          a8: graph.optional(),
        })
        .optional(),
    }),
  ),
});

export type FastManifest = z.infer<typeof manifest>;
export type FastGraphFile = z.infer<typeof graph>;
export type FastDtypeGraphs = FastManifest['graphs'][string];
export type FastVision = z.infer<typeof fastVision>;
export type FeedWeight = z.infer<typeof feedWeight>;

/**
 * The fast vision graph's settings, or null when the manifest (or, with `dtype`, that dtype's entry)
 * lists the reference vision graph.
 */
export function fastVisionOf(m: FastManifest, dtype?: string): FastVision | null {
  if (m.vision.graph === 'reference') return null;
  if (dtype !== undefined && m.graphs[dtype]?.vision.graph === 'reference') return null;
  return m.vision;
}

export function parseFastManifest(text: string, label: string): FastManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelError('bad-config', `${label}: ${FAST_MANIFEST} is not valid JSON`, {
      file: FAST_MANIFEST,
      cause: e,
    });
  }
  const parsed = manifest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelError(
      'bad-config',
      `${label}: ${FAST_MANIFEST}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
      { file: FAST_MANIFEST },
    );
  }
  const m = parsed.data;
  const t = m.text;
  const checks: [boolean, string][] = [
    [t.inv_freq.length * 2 === t.head_dim, 'text.inv_freq must have head_dim / 2 entries'],
    [
      t.mrope_section.reduce((a, b) => a + b, 0) * 2 === t.head_dim,
      'text.mrope_section must cover head_dim / 2',
    ],
    [t.kv_head_dim >= t.head_dim && t.kv_head_dim % 16 === 0, 'text.kv_head_dim'],
    [m.vision.out_hidden === t.hidden, 'vision.out_hidden must be text.hidden'],
  ];
  const fv = fastVisionOf(m);
  if (fv)
    checks.push([fv.inv_freq.length * 4 === fv.head_dim, 'vision.inv_freq must have head_dim / 4']);
  for (const [ok, what] of checks) {
    if (!ok) {
      throw new ModelError('bad-config', `${label}: ${FAST_MANIFEST}: ${what}`, {
        file: FAST_MANIFEST,
      });
    }
  }
  return m;
}

/** Which runs get int8 activations (LoadSettings.q4Int8): none, vision + prefill, or every run. */
export type Int8Runs = Q4Int8Mode;

export interface SessionGraphs {
  vision: FastGraphFile;
  /** The graph prompt runs (prefill) load; decode steps too where there is no decode session. */
  prefill: FastGraphFile;
  /** The captured decode session's graph. */
  decode: FastGraphFile;
  /** `decode` is the dtype's step graph: it returns logits only and the engine picks the next id. */
  decodePicks: boolean;
  /** The weights the decoder graphs take as inputs (their feed variants), or null: initializers. */
  weights: FeedWeight[] | null;
}

/**
 * Whether the decoder sessions run the feed graphs on one copy of the weights, as asked (LoadSettings.
 * gpuShareWeights): on WebGPU with a captured decode session, the only case with two decoder sessions.
 */
export function feedsWeights(device: 'webgpu' | 'wasm', capture: boolean, asked: boolean): boolean {
  return device === 'webgpu' && capture && asked;
}

/** The graph each session loads for a dtype's entry and the int8-activation choice. */
export function sessionGraphs(g: FastDtypeGraphs, int8: Int8Runs, feed = false): SessionGraphs {
  const plain = initializerGraphs(g, int8);
  const f = g.feed;
  if (!feed || !f) return plain;
  // Each decoder graph's feed variant; where one is missing the sessions keep their initializers.
  const variant = (x: FastGraphFile): FastGraphFile | undefined =>
    x === g.decoder ? f.decoder : x === g.step ? f.step : x === g.a8?.decoder ? f.a8 : undefined;
  const prefill = variant(plain.prefill);
  const decode = variant(plain.decode);
  if (!prefill || !decode) return plain;
  return { ...plain, prefill, decode, weights: f.weights };
}

function initializerGraphs(g: FastDtypeGraphs, int8: Int8Runs): SessionGraphs {
  // Exact decode steps replay the step graph where the dtype has one (a8 decode steps: the full graph).
  const exactDecode = { decode: g.step ?? g.decoder, decodePicks: g.step !== undefined };
  // No a8 graphs: exact (int8Unused says why).
  if (int8 === 'off' || !g.a8)
    return { vision: g.vision, prefill: g.decoder, ...exactDecode, weights: null };
  const vision = g.a8.vision ?? g.vision;
  const decode = int8 === 'all' ? { decode: g.a8.decoder, decodePicks: false } : exactDecode;
  return { vision, prefill: g.a8.decoder, ...decode, weights: null };
}

/**
 * The graphs the sessions load: vision and prefill, and the decode graph only where a captured
 * decode session loads it (WebGPU with graph capture).
 */
export function sessionFiles(
  s: SessionGraphs,
  device: 'webgpu' | 'wasm',
  capture: boolean,
): FastGraphFile[] {
  return [s.vision, s.prefill, ...(device === 'webgpu' && capture ? [s.decode] : [])];
}

/** Every model-folder file the sessions read: graphs, their external data, and fed weights. */
export function sessionFileNames(
  s: SessionGraphs,
  device: 'webgpu' | 'wasm',
  capture: boolean,
): string[] {
  const graphs = sessionFiles(s, device, capture);
  return [
    ...new Set([
      ...graphs.flatMap((g) => [g.file, ...g.data.map((d) => d.file)]),
      ...(s.weights ?? []).map((w) => w.file),
    ]),
  ];
}

/**
 * Why asked int8 activations would not take effect here (null: they would): the dtype has no a8
 * graphs; wasm (onnxruntime-web's wasm build has no int8 MatMulNBits kernel: measured in
 * e2e/fast.spec.ts, the a8 graphs compute exact q4 there while onnxruntime-node's x86 build
 * quantises); a WebGPU device without `subgroups` (onnxruntime's DP4A kernels need them). The exact
 * graphs load then, so the record names what ran.
 */
export function int8Unused(
  asked: Int8Runs,
  hasA8: boolean,
  device: 'webgpu' | 'wasm',
  subgroups: boolean | undefined,
): string | null {
  if (asked === 'off') return null;
  if (!hasA8) return 'this dtype has no a8 graphs';
  if (device === 'wasm')
    return "onnxruntime-web's wasm build has no int8 MatMulNBits kernel (exact q4 graphs loaded)";
  if (subgroups !== true)
    return "the WebGPU device has no subgroups, which onnxruntime's int8 (DP4A) kernels need (exact q4 graphs loaded)";
  return null;
}
