/**
 * onnx/fast.json: the manifest scripts/export/fast (build()) writes beside the fast graphs: which
 * files each dtype needs (graphs and the external-data files they reference), the shapes, and the
 * rotary inverse frequencies. Validated with zod; a bad manifest is an error naming the file.
 */
import { z } from 'zod';
import { ModelError } from '../types';

export const FAST_MANIFEST = 'onnx/fast.json';
export const FAST_FORMAT = 'seedbench-fast/1';

const graph = z.object({
  /** Path in the model folder, e.g. onnx/decoder_fast_q4.onnx. */
  file: z.string(),
  /** External data: `path` as the graph names it (mounted under that name), `file` in the folder. */
  data: z.array(z.object({ path: z.string(), file: z.string() })),
  nodes: z.number().int().positive(),
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
  vision: z.object({
    embed: z.number().int().positive(),
    heads: z.number().int().positive(),
    head_dim: z.number().int().positive(),
    patch: z.number().int().positive(),
    temporal_patch: z.number().int().positive(),
    merge: z.number().int().positive(),
    out_hidden: z.number().int().positive(),
    inv_freq: z.array(z.number().positive()),
  }),
  repetition_penalty: z.number().positive(),
  graphs: z.record(z.string(), z.object({ decoder: graph, vision: graph })),
});

export type FastManifest = z.infer<typeof manifest>;
export type FastGraphFile = z.infer<typeof graph>;

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
    [m.vision.inv_freq.length * 4 === m.vision.head_dim, 'vision.inv_freq must have head_dim / 4'],
  ];
  for (const [ok, what] of checks) {
    if (!ok) {
      throw new ModelError('bad-config', `${label}: ${FAST_MANIFEST}: ${what}`, {
        file: FAST_MANIFEST,
      });
    }
  }
  return m;
}
