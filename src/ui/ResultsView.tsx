import { useEffect, useMemo, useState } from 'react';
import {
  alignGroups,
  availableModes,
  errorMessage,
  MODE_ORDER,
  orderedResults,
  restrictToShared,
  SCORING_MODE_LABELS,
  summarize,
  type QuestionResult,
  type ScoringMode,
} from '../bench/index';
import { useAppStore } from '../store/index';
import { AccuracyChart, type ChartRow } from './AccuracyChart';
import { AccuracyTable, ModesOverview } from './AccuracyTable';
import { ComparePanel, type Comparison } from './ComparePanel';
import { ExportBar } from './ExportBar';
import { LettersPanel } from './LettersPanel';
import type { IntervalKind } from './results-model';
import './results.css';

/** The run shown as "A": the store's current run, or a stored past run (loaded on demand). */
type Primary =
  { kind: 'current' } | { kind: 'past'; key: string; results: QuestionResult[] | null };

/**
 * Results of a run: accuracy per level, L3 domain and scenario with 95% intervals (table and
 * chart), every scoring mode, letter distribution, errors, comparison with a second run or an
 * imported official results file, and exports.
 */
export function ResultsView() {
  const runSamples = useAppStore((s) => s.runSamples);
  const results = useAppStore((s) => s.results);
  const runKey = useAppStore((s) => s.runKey);
  const runStatus = useAppStore((s) => s.runStatus);
  const runSettings = useAppStore((s) => s.runSettings);
  const setSamples = useAppStore((s) => s.samples);

  const runs = useAppStore((s) => s.storedRuns);
  const runsMessages = useAppStore((s) => s.storedRunsMessages);
  const refreshStoredRuns = useAppStore((s) => s.refreshStoredRuns);
  const storedResults = useAppStore((s) => s.storedResults);
  const [runsError, setRunsError] = useState<string | null>(null);
  // Links for talks: ?view=results&run=<run key> opens a stored run directly.
  const [primary, setPrimary] = useState<Primary>(() => {
    const linked = new URLSearchParams(window.location.search).get('run');
    return linked ? { kind: 'past', key: linked, results: null } : { kind: 'current' };
  });
  const [compare, setCompare] = useState<Comparison | null>(null);
  const [modeChoice, setModeChoice] = useState<ScoringMode>('official');
  const [interval, setIntervalKind] = useState<IntervalKind>('wilson');
  const [scenarios, setScenarios] = useState(false);
  const [sharedOnly, setSharedOnly] = useState(true);

  // A linked run's results load once, on opening.
  const [linkedKey] = useState(() => (primary.kind === 'past' ? primary.key : null));
  useEffect(() => {
    if (!linkedKey) return;
    storedResults(linkedKey).then(
      (rs) =>
        setPrimary((p) => (p.kind === 'past' && p.key === linkedKey ? { ...p, results: rs } : p)),
      (e: unknown) => setRunsError(`Cannot load run ${linkedKey}: ${errorMessage(e)}`),
    );
  }, [linkedKey, storedResults]);

  // Past runs, refreshed when a run starts or ends (the list lives in IndexedDB).
  useEffect(() => {
    void refreshStoredRuns();
  }, [runKey, runStatus, refreshStoredRuns]);

  // Every question this page knows: the run's and the browsed set's (to export and to import).
  const knownSamples = useMemo(() => {
    const all = [...runSamples, ...(setSamples.status === 'ready' ? setSamples.value : [])];
    const seen = new Set<string>();
    return all.filter((s) => {
      const k = `${s.level}:${s.sampleId}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }, [runSamples, setSamples]);

  const primaryKey = primary.kind === 'current' ? runKey : primary.key;
  const record = runs.find((r) => r.key === primaryKey) ?? null;
  const current = useMemo(() => orderedResults(runSamples, results), [runSamples, results]);
  const aAll: QuestionResult[] = useMemo(() => {
    if (primary.kind === 'current') return current.inRun;
    if (!primary.results) return [];
    const ids = record ? record.sampleIds.map((sampleId) => ({ sampleId })) : [];
    const byId = Object.fromEntries(primary.results.map((r) => [r.sampleId, r]));
    return orderedResults(ids, byId).inRun;
  }, [primary, current, record]);
  const planned = primary.kind === 'current' ? runSamples.length : (record?.sampleIds.length ?? 0);

  const { a, b } = useMemo(() => {
    if (!compare) return { a: aAll, b: null };
    if (!sharedOnly) return { a: aAll, b: compare.results };
    return restrictToShared(aAll, compare.results);
  }, [aAll, compare, sharedOnly]);

  const summaryA = useMemo(() => summarize(a), [a]);
  const summaryB = useMemo(() => (b ? summarize(b) : null), [b]);
  const modes = useMemo(() => {
    const m = new Set([...availableModes(summaryA), ...(summaryB ? availableModes(summaryB) : [])]);
    return MODE_ORDER.filter((x) => m.has(x));
  }, [summaryA, summaryB]);
  const mode = modes.includes(modeChoice) ? modeChoice : (modes[0] ?? 'official');
  const rows = useMemo(
    () => alignGroups(summaryA, summaryB, { scenarios, total: true }),
    [summaryA, summaryB, scenarios],
  );

  const aName =
    primary.kind === 'current'
      ? `Current run${record ? ` (${record.label})` : ''}`
      : (record?.label ?? primary.key);
  const bName = compare?.label ?? '';
  const series = b ? [`A: ${aName}`, `B: ${bName}`] : [aName];
  const chartRows: ChartRow[] = rows.map((r) => ({
    key: r.key,
    label: r.label,
    depth: r.depth,
    values: b ? [r.a?.byMode[mode], r.b?.byMode[mode]] : [r.a?.byMode[mode]],
  }));

  const pickPrimary = (value: string) => {
    if (value === '') {
      setPrimary({ kind: 'current' });
      return;
    }
    setPrimary({ kind: 'past', key: value, results: null });
    storedResults(value).then(
      (rs) => setPrimary((p) => (p.kind === 'past' && p.key === value ? { ...p, results: rs } : p)),
      (e: unknown) => setRunsError(`Cannot load run ${value}: ${errorMessage(e)}`),
    );
  };

  return (
    <section className="panel results-view" aria-label="Results">
      <header className="results-head">
        <h2>Results</h2>
        <label>
          Run{' '}
          <select
            value={primary.kind === 'current' ? '' : primary.key}
            onChange={(e) => pickPrimary(e.target.value)}
            aria-label="Run to show"
          >
            <option value="">Current run{runKey ? '' : ' (none yet)'}</option>
            {runs
              .filter((r) => r.key !== runKey)
              .map((r) => (
                <option key={r.key} value={r.key}>
                  {r.label} — {r.status}, {r.updatedAt.slice(0, 16).replace('T', ' ')}
                </option>
              ))}
          </select>
        </label>
        <span className="hint" data-testid="results-progress">
          {aAll.length} of {planned || aAll.length} questions finished
          {primary.kind === 'current' && runStatus === 'running' ? ' · running' : ''}
          {primary.kind === 'current' && current.outside > 0
            ? ` · ${current.outside} stored results of other questions under the same settings not counted`
            : ''}
        </span>
      </header>
      {(runsError ?? runsMessages[0]) && (
        <p role="alert" className="error">
          {runsError ?? runsMessages.join('; ')}
        </p>
      )}
      {primary.kind === 'past' && primary.results === null ? (
        <p>Loading the run’s results…</p>
      ) : aAll.length === 0 ? (
        <p className="results-empty">
          No finished questions yet. Start a run, or pick a past run above.
        </p>
      ) : (
        <>
          <fieldset className="mode-picker">
            <legend>Scoring</legend>
            {modes.map((m) => (
              <label key={m} className={m === 'official' ? 'mode official' : 'mode'}>
                <input
                  type="radio"
                  name="results-mode"
                  checked={mode === m}
                  onChange={() => setModeChoice(m)}
                />{' '}
                {SCORING_MODE_LABELS[m]}
                {m === 'official' && <span className="official-badge">the benchmark’s number</span>}
              </label>
            ))}
            <label className="mode">
              Interval{' '}
              <select
                value={interval}
                onChange={(e) =>
                  setIntervalKind(e.target.value === 'cluster' ? 'cluster' : 'wilson')
                }
              >
                <option value="wilson">95% Wilson</option>
                <option value="cluster">95% cluster-robust (by video)</option>
              </select>
            </label>
            <label className="mode">
              <input
                type="checkbox"
                checked={scenarios}
                onChange={(e) => setScenarios(e.target.checked)}
              />{' '}
              L3 scenarios
            </label>
          </fieldset>
          {mode !== 'official' && (
            <p className="not-official" role="note">
              Not official: {SCORING_MODE_LABELS[mode]}. The benchmark reports the official rule
              only.
            </p>
          )}
          <AccuracyTable rows={rows} mode={mode} compared={b !== null} interval={interval} />
          <AccuracyChart
            rows={chartRows}
            series={series}
            interval={interval}
            title={`Accuracy, ${SCORING_MODE_LABELS[mode]}`}
          />
          {modes.length > 1 && <ModesOverview summary={summaryA} modes={modes} />}
          <LettersPanel results={a} summary={summaryA} mode={mode} />
          <ComparePanel
            a={aAll}
            compare={compare}
            setCompare={setCompare}
            runs={runs.filter((r) => r.key !== primaryKey)}
            samples={knownSamples}
            mode={mode}
            sharedOnly={sharedOnly}
            setSharedOnly={setSharedOnly}
          />
          <ExportBar
            results={aAll}
            record={record}
            settings={primary.kind === 'current' ? runSettings : (record?.settings ?? null)}
            samples={
              primary.kind === 'current' && runSamples.length > 0 ? runSamples : knownSamples
            }
          />
        </>
      )}
    </section>
  );
}
