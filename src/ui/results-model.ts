// Formatting helpers of the Results view (numbers, intervals, names). The breakdowns live in
// bench/compare.ts, the import of official files in bench/import.ts.
import type { AccuracyCell, Interval } from '../bench/index';

export type IntervalKind = 'wilson' | 'cluster';

export function pickInterval(cell: AccuracyCell, kind: IntervalKind): Interval {
  return kind === 'wilson' ? cell.wilson : cell.cluster;
}

/** "34.8%" (accuracy as a percentage, one decimal by default). */
export function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

/** "32.9–36.7" (an interval in percent, no unit). */
export function intervalText(iv: Interval, digits = 1): string {
  return `${(iv.low * 100).toFixed(digits)}–${(iv.high * 100).toFixed(digits)}`;
}

/** A file-name-safe stem: letters, digits, dot, dash and underscore only. */
export function safeFileName(s: string): string {
  const cleaned = s
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[._]+|[._]+$/g, '');
  return cleaned.slice(0, 120) || 'results';
}
