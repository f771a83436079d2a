import { predictedLetter, rewardOf, type QuestionResult, type ScoringMode } from './results';
import { CHOICE_LETTERS, type ChoiceLetter, type Level } from './types';

const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/** Wilson score interval for a binomial proportion (95% by default). */
export function wilsonInterval(correct: number, n: number, z = Z95): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const p = correct / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At 0 or n the exact bound is 0 or 1; rounding would leave 1e-16 off it.
  return {
    low: correct === 0 ? 0 : Math.max(0, centre - half),
    high: correct === n ? 1 : Math.min(1, centre + half),
  };
}

/**
 * Cluster-robust (CR1 sandwich) normal interval for a mean of 0/1 scores, treating questions from
 * the same video as one cluster: they share a scene, so they are not independent draws. With every
 * cluster of size one it is the plain Wald interval times sqrt(n/(n-1)).
 */
export function clusterInterval(
  scores: readonly { cluster: string; reward: number }[],
  z = Z95,
): Interval {
  const n = scores.length;
  if (n === 0) return { low: 0, high: 1 };
  const mean = scores.reduce((s, x) => s + x.reward, 0) / n;
  const sums = new Map<string, number>();
  for (const x of scores) sums.set(x.cluster, (sums.get(x.cluster) ?? 0) + (x.reward - mean));
  const g = sums.size;
  if (g < 2) return { low: 0, high: 1 };
  let ss = 0;
  for (const s of sums.values()) ss += s * s;
  // Every score equal (all right or all wrong): the sandwich variance is 0, which would claim
  // certainty. Fall back to Wilson with one observation per cluster, the conservative extreme.
  if (ss === 0) return wilsonInterval(mean * g, g, z);
  const se = Math.sqrt(((g / (g - 1)) * ss) / (n * n));
  return { low: Math.max(0, mean - z * se), high: Math.min(1, mean + z * se) };
}

export interface AccuracyCell {
  /** Questions scored by this mode. */
  n: number;
  correct: number;
  accuracy: number;
  wilson: Interval;
  cluster: Interval;
  clusters: number;
}

export function accuracyCell(results: readonly QuestionResult[], mode: ScoringMode): AccuracyCell {
  const scored: { cluster: string; reward: number }[] = [];
  for (const r of results) {
    const reward = rewardOf(r, mode);
    if (reward !== undefined) scored.push({ cluster: r.cluster, reward });
  }
  const correct = scored.reduce((s, x) => s + x.reward, 0);
  const n = scored.length;
  return {
    n,
    correct,
    accuracy: n === 0 ? 0 : correct / n,
    wilson: wilsonInterval(correct, n),
    cluster: clusterInterval(scored),
    clusters: new Set(scored.map((x) => x.cluster)).size,
  };
}

export interface GroupSummary {
  /** "L1", "L2", "L3", "L3 / Daily life", "L3 / Daily life / cooking", or "all". */
  key: string;
  level: Level | null;
  domain: string | null;
  scenario: string | null;
  questions: number;
  errors: number;
  byMode: Partial<Record<ScoringMode, AccuracyCell>>;
  /** Official letters predicted (null = no usable letter, i.e. unparseable). */
  letters: Record<ChoiceLetter | 'none', number>;
  /** Outputs whose official rule found no letter (no tag, empty tag, not A-D first). */
  unparseable: number;
  /** Outputs for which only the lenient extractor found a letter. */
  lenientNeeded: number;
}

export interface Summary {
  total: GroupSummary;
  levels: GroupSummary[];
  domains: GroupSummary[];
  scenarios: GroupSummary[];
}

const MODES: ScoringMode[] = ['official', 'lenient', 'letters', 'likelihood'];

function group(
  key: string,
  results: readonly QuestionResult[],
  where: Pick<GroupSummary, 'level' | 'domain' | 'scenario'>,
): GroupSummary {
  const letters: Record<ChoiceLetter | 'none', number> = { A: 0, B: 0, C: 0, D: 0, none: 0 };
  let unparseable = 0;
  let lenientNeeded = 0;
  for (const r of results) {
    if (!r.official) continue;
    letters[r.official.letter ?? 'none'] += 1;
    if (r.official.letter === null) unparseable += 1;
    if (r.official.letter === null && r.lenient?.letter) lenientNeeded += 1;
  }
  const byMode: GroupSummary['byMode'] = {};
  for (const mode of MODES) {
    const cell = accuracyCell(results, mode);
    if (cell.n > 0) byMode[mode] = cell;
  }
  return {
    key,
    ...where,
    questions: results.length,
    errors: results.filter((r) => r.error !== null).length,
    byMode,
    letters,
    unparseable,
    lenientNeeded,
  };
}

function groupBy<K>(items: readonly QuestionResult[], key: (r: QuestionResult) => K | null) {
  const m = new Map<K, QuestionResult[]>();
  for (const r of items) {
    const k = key(r);
    if (k === null) continue;
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}

/**
 * Accuracy per level, per L3 domain and scenario, for every scoring mode that ran. Questions whose
 * stage failed (an error and no response) are counted in `errors` and left out of the accuracy.
 */
export function summarize(results: readonly QuestionResult[]): Summary {
  const levels = [...groupBy(results, (r) => r.level).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([level, rs]) => group(level, rs, { level, domain: null, scenario: null }));
  const l3 = results.filter((r) => r.level === 'L3');
  const domains = [...groupBy(l3, (r) => r.domain).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([domain, rs]) => group(`L3 / ${domain}`, rs, { level: 'L3', domain, scenario: null }));
  const scenarios = [...groupBy(l3, (r) => (r.scenario ? `${r.domain} / ${r.scenario}` : null))]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, rs]) =>
      group(`L3 / ${k}`, rs, {
        level: 'L3',
        domain: rs[0]?.domain ?? null,
        scenario: rs[0]?.scenario ?? null,
      }),
    );
  return {
    total: group('all', results, { level: null, domain: null, scenario: null }),
    levels,
    domains,
    scenarios,
  };
}

/** Per-question agreement of two runs on the questions both finished (for run comparison). */
export function agreement(
  a: readonly QuestionResult[],
  b: readonly QuestionResult[],
  mode: ScoringMode = 'official',
) {
  const byId = new Map(b.map((r) => [`${r.level}:${r.sampleId}`, r]));
  let both = 0;
  let sameLetter = 0;
  let bothRight = 0;
  let onlyA = 0;
  let onlyB = 0;
  let bothWrong = 0;
  for (const ra of a) {
    const rb = byId.get(`${ra.level}:${ra.sampleId}`);
    if (!rb) continue;
    const wa = rewardOf(ra, mode);
    const wb = rewardOf(rb, mode);
    if (wa === undefined || wb === undefined) continue;
    both += 1;
    if (predictedLetter(ra, mode) === predictedLetter(rb, mode)) sameLetter += 1;
    if (wa && wb) bothRight += 1;
    else if (wa) onlyA += 1;
    else if (wb) onlyB += 1;
    else bothWrong += 1;
  }
  return { both, sameLetter, bothRight, onlyA, onlyB, bothWrong };
}

export { CHOICE_LETTERS };
