import { useEffect, useMemo, useState } from 'react';
import {
  alignGroups,
  availableModes,
  MODE_ORDER,
  orderedResults,
  restrictToShared,
  SCORING_MODE_LABELS,
  summarize,
  type QuestionResult,
  type ScoringMode,
} from '../bench/index';
import { runStats, useAppStore } from '../store/index';
import { AccuracyChart, type ChartRow } from './AccuracyChart';
import { AccuracyTable, ModesOverview } from './AccuracyTable';
import { ComparePanel, type Comparison } from './ComparePanel';
import { ExportBar } from './ExportBar';
import { LettersPanel } from './LettersPanel';
import type { IntervalKind } from './results-model';
import { RunHeadline } from './RunHeadline';
import { RunList, type RunListEntry } from './RunList';
import { useShownRun } from './shown-run';
import './results.css';

/**
 * Results of a run: the run list (every stored run, opening on the last), the run's headline,
 * accuracy per level, L3 domain and scenario with 95% intervals (table and chart), every scoring
 * mode, letter distribution, errors, comparison with a second run or an imported official results
 * file, and exports. The run shown is the store's (useShownRun): the Inspector shows the same.
 */
export function ResultsView() {
  const runKey = useAppStore((s) => s.runKey);
  const runStatus = useAppStore((s) => s.runStatus);
  const setSamples = useAppStore((s) => s.samples);
  const runs = useAppStore((s) => s.storedRuns);
  const stats = useAppStore((s) => s.runStats);
  const runsMessages = useAppStore((s) => s.storedRunsMessages);
  const refreshStoredRuns = useAppStore((s) => s.refreshStoredRuns);
  const openRun = useAppStore((s) => s.openRun);
  const shownState = useShownRun();
  const shown = shownState.status === 'ready' ? shownState.run : null;

  const [compare, setCompare] = useState<Comparison | null>(null);
  const [modeChoice, setModeChoice] = useState<ScoringMode>('official');
  const [interval, setIntervalKind] = useState<IntervalKind>('wilson');
  const [scenarios, setScenarios] = useState(false);
  const [sharedOnly, setSharedOnly] = useState(true);

  // Past runs, refreshed when a run starts or ends (the list lives in IndexedDB).
  useEffect(() => {
    void refreshStoredRuns();
  }, [runKey, runStatus, refreshStoredRuns]);

  // Every question this page knows: the run's and the browsed set's (to export and to import).
  const knownSamples = useMemo(() => {
    const all = [
      ...(shown?.samples ?? []),
      ...(setSamples.status === 'ready' ? setSamples.value : []),
    ];
    const seen = new Set<string>();
    return all.filter((s) => {
      const k = `${s.level}:${s.sampleId}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }, [shown?.samples, setSamples]);

  const record = shown?.record ?? null;
  const inRun = useMemo(
    () => (shown ? orderedResults(shown.samples, shown.results) : { inRun: [], outside: 0 }),
    [shown],
  );
  // A stored run whose questions are unknown (older versions) still has its results.
  const aAll: QuestionResult[] = useMemo(() => {
    if (!shown) return [];
    if (shown.samples.length > 0 || !record) return inRun.inRun;
    const ids = record.sampleIds.map((sampleId) => ({ sampleId }));
    return orderedResults(ids, shown.results).inRun;
  }, [shown, record, inRun]);
  const planned = shown ? (record?.sampleIds.length ?? shown.samples.length) : 0;

  const shownStats = useMemo(() => {
    if (!shown) return null;
    const ids =
      shown.samples.length > 0 ? shown.samples.map((s) => s.sampleId) : (record?.sampleIds ?? []);
    return runStats(
      { sampleIds: ids, updatedAt: record?.updatedAt ?? '' },
      Object.values(shown.results),
    );
  }, [shown, record]);

  const entries: RunListEntry[] = useMemo(
    () =>
      runs.map((r) => ({
        record: r,
        stats:
          r.key === runKey && shownStats && shown?.kind === 'current' ? shownStats : stats[r.key],
        current: r.key === runKey,
      })),
    [runs, stats, runKey, shownStats, shown?.kind],
  );

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

  const aName = record?.label ?? shown?.key ?? '';
  const bName = compare?.label ?? '';
  const series = b ? [`A: ${aName}`, `B: ${bName}`] : [aName];
  const chartRows: ChartRow[] = rows.map((r) => ({
    key: r.key,
    label: r.label,
    depth: r.depth,
    values: b ? [r.a?.byMode[mode], r.b?.byMode[mode]] : [r.a?.byMode[mode]],
  }));
  const liveStatus =
    shown?.kind === 'current' && runStatus !== 'idle' ? runStatus : (record?.status ?? 'finished');

  return (
    <section className="panel results-view" aria-label="Results">
      <div className="results-layout">
        <div className="run-list-panel">
          <h2>Runs</h2>
          <RunList
            entries={entries}
            shownKey={shown?.key ?? null}
            onOpen={(k) => void openRun(k)}
          />
        </div>
        <div className="results-main">
          {runsMessages.length > 0 && (
            <p role="alert" className="error">
              Stored runs: {runsMessages.join('; ')}
            </p>
          )}
          {shownState.status === 'error' && (
            <p role="alert" className="error">
              {shownState.message}
            </p>
          )}
          {shown && shownStats && (
            <RunHeadline
              runKey={shown.key}
              record={record}
              settings={shown.settings}
              stats={shownStats}
              status={liveStatus}
            />
          )}
          {shown?.questionsNote && (
            <p className="hint" role="note">
              {shown.questionsNote}
            </p>
          )}
          {shown && (
            <p className="hint" data-testid="results-progress">
              {aAll.length} of {planned || aAll.length} questions finished
              {shown.kind === 'current' && runStatus === 'running' ? ' · running' : ''}
              {inRun.outside > 0
                ? ` · ${inRun.outside} stored results of other questions under the same settings not counted`
                : ''}
            </p>
          )}
          {shownState.status === 'loading' ? (
            <p>Loading the run’s results…</p>
          ) : !shown ? (
            <p className="results-empty">
              No runs yet: start one in the Run view. Finished questions are kept in this browser.
            </p>
          ) : aAll.length === 0 ? (
            <p className="results-empty">No finished questions in this run yet.</p>
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
                    {m === 'official' && (
                      <span className="official-badge">the benchmark’s number</span>
                    )}
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
                runs={runs.filter((r) => r.key !== shown.key)}
                samples={knownSamples}
                mode={mode}
                sharedOnly={sharedOnly}
                setSharedOnly={setSharedOnly}
              />
              <ExportBar
                results={aAll}
                record={record}
                settings={shown.settings}
                samples={shown.samples.length > 0 ? shown.samples : knownSamples}
              />
            </>
          )}
        </div>
      </div>
    </section>
  );
}
