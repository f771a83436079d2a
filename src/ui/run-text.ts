// How a run is named and described in the run list and the headline. Pure: unit-tested in node.
import {
  OFFICIAL_CONFIG,
  type QuestionResult,
  type RunSettings,
  type Sample,
  type Subset,
} from '../bench/index';

/** The last path part of a model name ("onnx-community/Qwen2-VL-2B-Instruct" -> "Qwen2-VL-2B-Instruct"). */
export function shortModel(label: string): string {
  return label.split('/').filter(Boolean).pop() ?? label;
}

export function subsetText(s: Subset): string {
  if (s.kind === 'all') return 'all questions';
  if (s.kind === 'first') return `first ${s.count}`;
  return `random ${s.count} (seed ${s.seed})`;
}

/**
 * Why a run's settings are not the official protocol's, one phrase each (empty: official). Extra
 * scoring modes beside the official one do not make a run unofficial; they are reported apart.
 */
export function unofficialReasons(s: RunSettings): string[] {
  const out: string[] = [];
  if (!s.scoring.official) out.push('the official generation did not run');
  if (s.wording !== OFFICIAL_CONFIG.wording) out.push(`question wording "${s.wording}"`);
  if (s.maxNewTokens !== OFFICIAL_CONFIG.maxNewTokens)
    out.push(`max ${s.maxNewTokens} new tokens (official: ${OFFICIAL_CONFIG.maxNewTokens})`);
  if (s.clipValues !== OFFICIAL_CONFIG.clipValues)
    out.push('clip frames not rounded (protocol.md float path)');
  return out;
}

/** The settings of a run in one line: dtype, what differs from the official preset, subset. */
export function settingsText(s: RunSettings): string {
  const extras = (['letters', 'likelihood'] as const).filter((k) => s.scoring[k]);
  return [
    s.model.dtype,
    s.official ? 'official settings' : `not official: ${unofficialReasons(s).join(', ')}`,
    ...(extras.length > 0 ? [`+ ${extras.join(', ')} scoring`] : []),
    subsetText(s.subset),
  ].join(' · ');
}

/** "2026-12-01 16:48" in the browser's time zone. */
export function dateText(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * A sample id short enough for one list row: L3 ids are "<uuid>_<n>"; the first 8 hex digits
 * and the question number are enough to tell the benchmark's questions apart.
 */
export function shortSampleId(id: string): string {
  const m = /^([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(_\d+)$/i.exec(id);
  return m ? `${m[1]}…${m[2]}` : id;
}

/** What the official rule read from an answer, in words (status colours always come with text). */
export function verdictOf(
  sample: Sample,
  result: QuestionResult,
): { kind: 'right' | 'wrong' | 'none' | 'error'; text: string } {
  if (result.error && result.response === null)
    return { kind: 'error', text: `${result.error.stage} stage failed: ${result.error.message}` };
  const letter = result.official?.letter ?? null;
  if (letter === null)
    return {
      kind: 'none',
      text: `No answer the official rule can read (scored 0) · gold ${sample.gold}`,
    };
  return letter === sample.gold
    ? { kind: 'right', text: `✓ Right: answered ${letter}, gold ${sample.gold}` }
    : { kind: 'wrong', text: `✗ Wrong: answered ${letter}, gold ${sample.gold}` };
}
