// Breakdowns and comparisons of results: run order, the groups of the accuracy table and chart,
// two runs side by side (McNemar), letter and error distributions. Pure, unit-tested.
import type { QuestionResult, ScoringMode } from './results';
import { predictedLetter } from './results';
import type { GroupSummary, Summary } from './stats';

export const MODE_ORDER: readonly ScoringMode[] = ['official', 'lenient', 'letters', 'likelihood'];

/**
 * The results of the run's questions in run order, and how many stored results belong to other
 * questions (the run key ignores the subset, so a resumed key can hold more than this run asked).
 */
export function orderedResults<R extends QuestionResult>(
  samples: readonly { sampleId: string }[],
  results: Readonly<Record<string, R>>,
): { inRun: R[]; outside: number } {
  if (samples.length === 0) return { inRun: Object.values(results), outside: 0 };
  const inRun: R[] = [];
  const ids = new Set<string>();
  for (const s of samples) {
    ids.add(s.sampleId);
    const r = results[s.sampleId];
    if (r) inRun.push(r);
  }
  const outside = Object.keys(results).filter((k) => !ids.has(k)).length;
  return { inRun, outside };
}

/** The scoring modes that produced a number for at least one question, in display order. */
export function availableModes(summary: Summary): ScoringMode[] {
  return MODE_ORDER.filter((m) => summary.total.byMode[m] !== undefined);
}

export interface GroupRow {
  key: string;
  label: string;
  /** 0 total, 1 level, 2 domain, 3 scenario. */
  depth: number;
  a: GroupSummary | undefined;
  b: GroupSummary | undefined;
}

function depthOf(g: GroupSummary): number {
  if (g.level === null) return 0;
  if (g.domain === null) return 1;
  return g.scenario === null ? 2 : 3;
}

function labelOf(g: GroupSummary): string {
  if (g.level === null) return 'All questions';
  if (g.domain === null) return g.level;
  return g.scenario === null ? `L3 · ${g.domain}` : `L3 · ${g.domain} · ${g.scenario}`;
}

/**
 * Table and chart rows: total, each level, then the L3 domains (and scenarios when asked), with
 * run B's group of the same key beside run A's. Groups only B has come after A's, in B's order.
 */
export function alignGroups(
  a: Summary,
  b: Summary | null,
  opts: { scenarios: boolean; total: boolean },
): GroupRow[] {
  const list = (s: Summary) => [
    ...(opts.total ? [s.total] : []),
    ...s.levels,
    ...s.domains,
    ...(opts.scenarios ? s.scenarios : []),
  ];
  const aGroups = list(a);
  const bGroups = b ? list(b) : [];
  const bByKey = new Map(bGroups.map((g) => [g.key, g]));
  const rows: GroupRow[] = aGroups.map((g) => ({
    key: g.key,
    label: labelOf(g),
    depth: depthOf(g),
    a: g,
    b: bByKey.get(g.key),
  }));
  const seen = new Set(aGroups.map((g) => g.key));
  for (const g of bGroups) {
    if (!seen.has(g.key))
      rows.push({ key: g.key, label: labelOf(g), depth: depthOf(g), a: undefined, b: g });
  }
  // Keep domains right after L3 and scenarios after their domain, whatever side they came from.
  return rows.sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : sortKey(x) > sortKey(y) ? 1 : 0));
}

function sortKey(r: GroupRow): string {
  // "all" < "L1" < "L2" < "L3" < "L3 / Daily life" < "L3 / Daily life / cooking" (code-unit
  // order: " / " sorts before any printable character a name can continue with).
  return r.depth === 0 ? '' : r.key;
}

/** Exact two-sided McNemar test on the discordant pairs (only A right vs only B right). */
export function mcnemarExactP(onlyA: number, onlyB: number): number {
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  const k = Math.min(onlyA, onlyB);
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so n in the thousands stays finite.
  let logC = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

/** The most frequent error messages of a run, with their stage and count. */
export function errorDigest(
  results: readonly QuestionResult[],
  top = 10,
): { stage: string; message: string; count: number; example: string }[] {
  const m = new Map<string, { stage: string; message: string; count: number; example: string }>();
  for (const r of results) {
    if (!r.error) continue;
    const k = `${r.error.stage}\u0000${r.error.message}`;
    const e = m.get(k);
    if (e) e.count += 1;
    else
      m.set(k, { stage: r.error.stage, message: r.error.message, count: 1, example: r.sampleId });
  }
  return [...m.values()].sort((x, y) => y.count - x.count).slice(0, top);
}

/** Gold letters of the results, to set beside the predicted-letter distribution. */
export function goldDistribution(results: readonly QuestionResult[]): Record<string, number> {
  const out: Record<string, number> = { A: 0, B: 0, C: 0, D: 0 };
  for (const r of results) out[r.gold] = (out[r.gold] ?? 0) + 1;
  return out;
}

/** Predicted letters of a mode over the questions it scored (`none`: it found no letter). */
export function letterDistribution(
  results: readonly QuestionResult[],
  mode: ScoringMode,
): { counts: Record<'A' | 'B' | 'C' | 'D' | 'none', number>; scored: number } {
  const counts = { A: 0, B: 0, C: 0, D: 0, none: 0 };
  let scored = 0;
  for (const r of results) {
    const letter = predictedLetter(r, mode);
    if (letter === undefined) continue;
    scored += 1;
    counts[letter ?? 'none'] += 1;
  }
  return { counts, scored };
}

/** Both runs cut down to the questions both have a result for (same level and sample id). */
export function restrictToShared<A extends QuestionResult, B extends QuestionResult>(
  a: readonly A[],
  b: readonly B[],
): { a: A[]; b: B[] } {
  const key = (r: QuestionResult) => `${r.level}:${r.sampleId}`;
  const inA = new Set(a.map(key));
  const inB = new Set(b.map(key));
  return { a: a.filter((r) => inB.has(key(r))), b: b.filter((r) => inA.has(key(r))) };
}
