import { useEffect, useMemo, useState } from 'react';
import { accuracyCell } from '../bench/index';
import { useAppStore } from '../store/index';
import { estimateProgress } from './run-progress';

/** A clock that ticks every `ms` while `on`, so that an ETA counts down between tokens. */
function useNow(on: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(performance.now()), ms);
    return () => clearInterval(t);
  }, [on, ms]);
  return now;
}

/** The run's progress as the Run panel and the status line show it (one computation for both). */
export function useRunProgress() {
  const status = useAppStore((s) => s.runStatus);
  const runSamples = useAppStore((s) => s.runSamples);
  const results = useAppStore((s) => s.results);
  const durations = useAppStore((s) => s.sessionDurationsMs);
  const lastTokensPerS = useAppStore((s) => s.tokensPerS);
  const live = useAppStore((s) => s.live);
  const planned = useAppStore((s) => s.plannedQuestions);
  // Re-plan when what the plan reads changes.
  useAppStore((s) => s.samples);
  useAppStore((s) => s.runConfig.subset);
  const active = status === 'running' || status === 'pausing' || status === 'paused';
  const now = useNow(status === 'running');
  const total =
    active || status === 'finished' || status === 'cancelled'
      ? runSamples.length
      : planned().samples.length;
  // Per finished question, not per token: the live output changes far more often.
  const { done, errors, official } = useMemo(() => {
    const finished = runSamples.map((s) => results[s.sampleId]).filter((r) => r !== undefined);
    return {
      done: finished.length,
      errors: finished.filter((r) => r.error).length,
      official: accuracyCell(finished, 'official'),
    };
  }, [runSamples, results]);
  const estimate = estimateProgress({
    // The live token clock may be ahead of the last tick.
    now: Math.max(now, live?.lastTokenAt ?? 0),
    live,
    durationsMs: durations,
    done,
    total,
    running: status === 'running',
  });
  return {
    status,
    active,
    total,
    done,
    errors,
    official,
    live,
    estimate,
    tokensPerS: estimate.liveTokensPerS ?? lastTokensPerS,
  };
}
