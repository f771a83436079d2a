/**
 * How fast a run goes and when it ends, from its first tokens on: the live decode rate of the
 * question in progress, its "n / budget tokens", and an ETA. Until a question has finished, the
 * ETA assumes every answer uses its whole token budget (an upper bound: answers stop early), and
 * says so; after that, it uses the mean time of the recent questions.
 */
import type { LiveQuestion } from '../store/index';

/** Questions in the moving mean of question time. */
const RECENT = 20;

export interface ProgressInput {
  /** performance.now() of the render. */
  now: number;
  live: LiveQuestion | null;
  /** Wall time of each question finished this session, oldest first. */
  durationsMs: readonly number[];
  done: number;
  total: number;
  /** Only a running run has an ETA (paused: none). */
  running: boolean;
}

export interface ProgressEstimate {
  /** Decode rate of the question in progress (null before its second token). */
  liveTokensPerS: number | null;
  /** Tokens of the question in progress and its budget (null outside generation). */
  tokens: number | null;
  maxTokens: number | null;
  etaMs: number | null;
  /** The ETA assumes every remaining answer uses its whole budget (no question finished yet). */
  etaUpperBound: boolean;
  questionsPerMin: number | null;
}

export function estimateProgress(p: ProgressInput): ProgressEstimate {
  const recent = p.durationsMs.slice(-RECENT);
  const mean = recent.length > 0 ? recent.reduce((a, b) => a + b, 0) / recent.length : null;
  const live = p.live;
  const generating = live?.stage === 'model';
  let rate: number | null = null;
  if (live && live.firstTokenAt !== null && live.lastTokenAt !== null && live.tokens >= 2) {
    const span = live.lastTokenAt - live.firstTokenAt;
    if (span > 0) rate = ((live.tokens - 1) * 1000) / span;
  }
  const remaining = p.total - p.done;
  let etaMs: number | null = null;
  if (p.running && remaining > 0) {
    const elapsed = live ? Math.max(0, p.now - live.startedAt) : 0;
    // What the current question's budget still allows at the live rate (an upper bound).
    const budgetLeft =
      live && rate !== null ? (Math.max(0, live.maxTokens - live.tokens) * 1000) / rate : null;
    let current: number | null = 0;
    if (live) {
      if (mean !== null) current = elapsed < mean ? mean - elapsed : (budgetLeft ?? 0);
      else current = budgetLeft;
    }
    const each = mean ?? (budgetLeft !== null ? elapsed + budgetLeft : null);
    if (current !== null && each !== null) {
      etaMs = current + each * (live ? remaining - 1 : remaining);
    }
  }
  return {
    liveTokensPerS: rate,
    tokens: generating ? live.tokens : null,
    maxTokens: generating ? live.maxTokens : null,
    etaMs,
    etaUpperBound: etaMs !== null && mean === null,
    questionsPerMin: mean !== null && mean > 0 ? 60_000 / mean : null,
  };
}
