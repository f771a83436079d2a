import { z } from 'zod';
import type { FileDigest } from './digest';
import type { QuestionWording } from './prompt';

/**
 * A run's identity, in one place. The store, the export bar, the command line and the tests build
 * run keys, settings records and per-question model options only through this module, so that
 * what a record claims and what the model was given cannot drift apart.
 */

/**
 * Clip frame values after the resize: 'uint8' rounds and clamps to 0..255 as SEED-Bench-R1's code
 * does (decord hands torchvision uint8 frames); 'float' keeps protocol.md's unrounded values.
 */
export type ClipValues = 'uint8' | 'float';

export interface ScoringModes {
  /** The official greedy generation (protocol section 4). */
  official: boolean;
  /** Next-token log-probs of A/B/C/D after the official prompt. */
  letters: boolean;
  /** EgoPlan-style likelihood ranking of the four choice texts. */
  likelihood: boolean;
}

/** Which questions of the set a run takes (results are per question, so this is not identity). */
export type Subset =
  | { kind: 'all' }
  | { kind: 'first'; count: number }
  | { kind: 'random'; count: number; seed: number };

/** Everything besides the model and the questions that can change an answer. */
export interface AnswerSettings {
  wording: QuestionWording;
  clipValues: ClipValues;
  scoring: ScoringModes;
  maxNewTokens: number;
}

/** What the user picks for a run in the Benchmark step (the model and set are picked beside it). */
export interface RunConfig extends AnswerSettings {
  subset: Subset;
}

/** The official preset (protocol sections 2 to 5). */
export const OFFICIAL_CONFIG: RunConfig = {
  wording: 'seed-bench-r1',
  clipValues: 'uint8',
  scoring: { official: true, letters: false, likelihood: false },
  maxNewTokens: 256,
  subset: { kind: 'all' },
};

/** True when the settings are the official protocol's (extra scoring modes beside it are fine). */
export function isOfficial(s: AnswerSettings): boolean {
  return (
    s.wording === OFFICIAL_CONFIG.wording &&
    s.clipValues === OFFICIAL_CONFIG.clipValues &&
    s.maxNewTokens === OFFICIAL_CONFIG.maxNewTokens &&
    s.scoring.official
  );
}

/** The questions of a run, by content: the set (or file) name and a digest of its records. */
export interface BenchmarkIdentity {
  /** Set id, or the annotation file's name. */
  id: string;
  questions: number;
  /** samplesDigest() of every question of the set or file. */
  digest: string;
}

/** The model of a run, by content: its name, dtype, and a digest of every file it loaded. */
export interface ModelIdentity {
  /** Hub id, URL or folder name, as the user gave it. */
  label: string;
  dtype: string;
  /**
   * The load's int8 activations as they took effect (the loader's q4Int8: 'off' wherever the setting
   * does not apply: not q4, the reference engine, wasm, a device without subgroups), so asking for
   * them where they change nothing is the same run; what a resume loads with again. Runs stored
   * before the setting read back as 'off'.
   */
  q4Int8: 'off' | 'prefill' | 'all';
  /** modelDigest() of `files`. */
  digest: string;
  files: FileDigest[];
}

/** What identifies a run's results: the same identity resumes the same run, any other does not. */
export interface RunIdentity extends AnswerSettings {
  benchmark: BenchmarkIdentity;
  model: ModelIdentity;
}

/** Fields of an identity that a question's options are built from (the rest is recorded only). */
export function answerSettings(s: AnswerSettings): AnswerSettings {
  return {
    wording: s.wording,
    clipValues: s.clipValues,
    scoring: { ...s.scoring },
    maxNewTokens: s.maxNewTokens,
  };
}

export function runIdentity(
  benchmark: BenchmarkIdentity,
  model: ModelIdentity,
  settings: AnswerSettings,
): RunIdentity {
  return { ...answerSettings(settings), benchmark, model };
}

const SCORING_ORDER = ['official', 'letters', 'likelihood'] as const;

/** The run key: readable, and unique per identity (content digests included). */
export function runKey(id: RunIdentity): string {
  const scoring = SCORING_ORDER.filter((k) => id.scoring[k]);
  const parts = [
    id.benchmark.id,
    id.model.label,
    id.model.dtype,
    scoring.join('+') || 'no scoring',
    id.wording,
    `max${id.maxNewTokens}`,
  ];
  if (id.clipValues === 'float') parts.push('float-frames');
  // Only where on, so the keys of exact runs (every run stored before the setting) stay as they were.
  if (id.model.q4Int8 !== 'off') parts.push(`int8 ${id.model.q4Int8}`);
  parts.push(`questions ${id.benchmark.digest.slice(0, 12)}`);
  parts.push(`model ${id.model.digest.slice(0, 12)}`);
  return parts.join(' | ');
}

/** One way a stored run differs from this one. `content`: same names, other bytes. */
export interface IdentityConflict {
  field:
    | 'benchmark'
    | 'questions'
    | 'model'
    | 'dtype'
    | 'int8 activations'
    | 'model files'
    | 'wording'
    | 'clip frames'
    | 'scoring'
    | 'max new tokens';
  content: boolean;
  message: string;
}

/**
 * Why a stored run is not this run, one entry per difference (empty: same run). Content
 * differences name what changed, so a user sees which model file or records differ.
 */
export function identityConflicts(stored: RunIdentity, now: RunIdentity): IdentityConflict[] {
  const out: IdentityConflict[] = [];
  const add = (field: IdentityConflict['field'], message: string) =>
    out.push({ field, content: field === 'questions' || field === 'model files', message });
  if (stored.benchmark.id !== now.benchmark.id)
    add('benchmark', `benchmark ${stored.benchmark.id} vs ${now.benchmark.id}`);
  else if (stored.benchmark.digest !== now.benchmark.digest)
    add(
      'questions',
      `the annotation records of ${now.benchmark.id} differ from the run's (${stored.benchmark.questions} questions, digest ${stored.benchmark.digest.slice(0, 12)} then; ${now.benchmark.questions}, ${now.benchmark.digest.slice(0, 12)} now)`,
    );
  if (stored.model.label !== now.model.label)
    add('model', `model ${stored.model.label} vs ${now.model.label}`);
  if (stored.model.dtype !== now.model.dtype)
    add('dtype', `dtype ${stored.model.dtype} vs ${now.model.dtype}`);
  if (stored.model.q4Int8 !== now.model.q4Int8)
    add('int8 activations', `int8 activations ${stored.model.q4Int8} vs ${now.model.q4Int8}`);
  if (stored.model.digest !== now.model.digest) {
    const before = new Map(stored.model.files.map((f) => [f.path, f]));
    const after = new Map(now.model.files.map((f) => [f.path, f]));
    const changed = [...new Set([...before.keys(), ...after.keys()])]
      .filter((p) => before.get(p)?.sha256 !== after.get(p)?.sha256)
      .sort();
    add(
      'model files',
      `the model's files differ from the run's (${changed.length > 0 ? changed.join(', ') : 'file list'}; digest ${stored.model.digest.slice(0, 12)} then, ${now.model.digest.slice(0, 12)} now)`,
    );
  }
  if (stored.wording !== now.wording) add('wording', `wording ${stored.wording} vs ${now.wording}`);
  if (stored.clipValues !== now.clipValues)
    add('clip frames', `clip frames ${stored.clipValues} vs ${now.clipValues}`);
  const scoring = (s: ScoringModes) => SCORING_ORDER.filter((k) => s[k]).join('+') || 'none';
  if (scoring(stored.scoring) !== scoring(now.scoring))
    add('scoring', `scoring ${scoring(stored.scoring)} vs ${scoring(now.scoring)}`);
  if (stored.maxNewTokens !== now.maxNewTokens)
    add('max new tokens', `max new tokens ${stored.maxNewTokens} vs ${now.maxNewTokens}`);
  return out;
}

/** A short human name for a run (its key is long). */
export function runLabel(
  s: Pick<RunIdentity, 'benchmark' | 'model' | 'wording' | 'maxNewTokens' | 'clipValues'>,
): string {
  const model = s.model.label.split('/').filter(Boolean).pop() ?? s.model.label;
  const extra = [
    s.wording === OFFICIAL_CONFIG.wording ? '' : `wording ${s.wording}`,
    s.maxNewTokens === OFFICIAL_CONFIG.maxNewTokens ? '' : `max ${s.maxNewTokens}`,
    s.clipValues === OFFICIAL_CONFIG.clipValues ? '' : 'float frames',
    s.model.q4Int8 === 'off' ? '' : `int8 ${s.model.q4Int8}`,
  ].filter(Boolean);
  return [s.benchmark.id, model, s.model.dtype, ...extra].join(' · ');
}

/** The settings record stored with a run's results (IndexedDB, run.json, summary.json). */
export interface RunSettings extends RunIdentity {
  key: string;
  subset: Subset;
  /** The device asked for; each question records the one it ran on. */
  device: string;
  official: boolean;
}

export function runSettings(
  identity: RunIdentity,
  extra: { subset: Subset; device: string },
): RunSettings {
  return {
    ...identity,
    key: runKey(identity),
    subset: extra.subset,
    device: extra.device,
    official: isOfficial(identity),
  };
}

/** Test-only probes of the model (logits, a cache-free likelihood check); none in a run. */
export interface Probes {
  /** Keep the top-k logits of the first generated position (0: none). */
  topLogits: number;
  /** Return the first generated position's raw logits at these token ids. */
  logitsAt: readonly number[];
  /** Also score the choices without the shared cache, one full pass each. */
  checkLikelihood: boolean;
}

export const NO_PROBES: Probes = { topLogits: 0, logitsAt: [], checkLikelihood: false };

/**
 * What the model needs for one question, built once from the run settings and passed whole
 * through the client, the worker message and the model. Every field is required: a hop cannot
 * drop one silently.
 */
export interface QuestionOptions {
  wording: QuestionWording;
  scoring: ScoringModes;
  maxNewTokens: number;
  probes: Probes;
}

export function questionOptions(s: AnswerSettings, probes: Probes = NO_PROBES): QuestionOptions {
  return {
    wording: s.wording,
    scoring: { ...s.scoring },
    maxNewTokens: s.maxNewTokens,
    probes: { ...probes, logitsAt: [...probes.logitsAt] },
  };
}

// Schemas: run.json and IndexedDB records are read back through these, so a damaged or foreign
// file is refused with the field that is wrong.
const hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 hex digest');

export const scoringModesSchema = z.object({
  official: z.boolean(),
  letters: z.boolean(),
  likelihood: z.boolean(),
});

export const subsetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('all') }),
  z.object({ kind: z.literal('first'), count: z.number().int().positive() }),
  z.object({
    kind: z.literal('random'),
    count: z.number().int().positive(),
    seed: z.number().int(),
  }),
]);

export const runIdentitySchema = z.object({
  wording: z.enum(['as-is', 'seed-bench-r1']),
  clipValues: z.enum(['uint8', 'float']),
  scoring: scoringModesSchema,
  maxNewTokens: z.number().int().positive(),
  benchmark: z.object({ id: z.string(), questions: z.number().int().nonnegative(), digest: hex }),
  model: z.object({
    label: z.string(),
    dtype: z.string(),
    // Absent in runs stored before the setting: they ran exact.
    q4Int8: z.enum(['off', 'prefill', 'all']).default('off'),
    digest: hex,
    files: z.array(
      z.object({ path: z.string(), size: z.number().int().nonnegative(), sha256: hex }),
    ),
  }),
});

export const runSettingsSchema = runIdentitySchema.extend({
  key: z.string(),
  subset: subsetSchema,
  device: z.string(),
  official: z.boolean(),
});
