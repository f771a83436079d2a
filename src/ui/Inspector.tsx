import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { OFFICIAL_CONFIG, type QuestionResult, type Sample } from '../bench/index';
import { useAppStore } from '../store/index';
import { InspectorDetail } from './results-detail';
import { shortSampleId } from './run-text';
import { useShownRun } from './shown-run';
import {
  FILTERS,
  passesFilter,
  questionStatus,
  shortGoal,
  type InspectorFilter,
} from './results-inspect';
import './results.css';

const STATUS_MARK = {
  right: '✓',
  wrong: '✗',
  unparseable: '?',
  error: '!',
  'not-run': '·',
} as const;

// Keys belong to text fields, selects and radio/range inputs (they use the arrows themselves);
// buttons and checkboxes do not need them.
const KEY_FREE_INPUTS = new Set(['checkbox', 'button', 'submit', 'reset', 'file', 'color']);

function isTyping(e: KeyboardEvent) {
  const t = e.target;
  if (!(t instanceof HTMLElement)) return false;
  if (t instanceof HTMLInputElement) return !KEY_FREE_INPUTS.has(t.type);
  return t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable;
}

/**
 * One question at a time, for spot-checks and demos: frames, exact prompt, output (live while it
 * runs), extracted letters, per-choice scores, error and timings. j/k or the arrow keys move
 * through the filtered list.
 */
export function Inspector({ onRerun }: { onRerun: (sampleId: string) => void }) {
  const setSamples = useAppStore((s) => s.samples);
  const adoptViewedRun = useAppStore((s) => s.adoptViewedRun);
  const shownState = useShownRun();
  const shown = shownState.status === 'ready' ? shownState.run : null;
  const results = useMemo(() => shown?.results ?? {}, [shown]);
  // Live tokens belong to this session's run only.
  const liveId = useAppStore((s) =>
    shown?.kind === 'current' ? (s.live?.sampleId ?? null) : null,
  );
  const [filter, setFilter] = useState<InspectorFilter>('all');
  const [selected, setSelected] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);

  // Before any run, the browsed set's questions can still be inspected (prompt, choices).
  const list = useMemo(
    () =>
      shown && shown.samples.length > 0
        ? shown.samples
        : setSamples.status === 'ready'
          ? setSamples.value
          : [],
    [shown, setSamples],
  );
  // "Run again" on a stored run makes it the current run first (its settings, its results).
  const rerun = (id: string) => {
    if (shown?.kind === 'stored' && !adoptViewedRun()) return;
    onRerun(id);
  };
  const counts = useMemo(() => {
    const c: Record<InspectorFilter, number> = {
      all: 0,
      right: 0,
      wrong: 0,
      unparseable: 0,
      errors: 0,
      'not-run': 0,
    };
    for (const s of list) {
      const r = results[s.sampleId];
      for (const f of FILTERS) if (passesFilter(f.id, r)) c[f.id] += 1;
    }
    return c;
  }, [list, results]);
  const visible = useMemo(
    () => list.filter((s) => passesFilter(filter, results[s.sampleId])),
    [list, results, filter],
  );

  const following = follow && liveId !== null;
  // A selection the filter hides gives way to the filter's first question.
  const selectedVisible = selected !== null && visible.some((s) => s.sampleId === selected);
  const shownId = following ? liveId : selectedVisible ? selected : (visible[0]?.sampleId ?? null);
  const question = list.find((s) => s.sampleId === shownId) ?? null;

  const choose = (id: string) => {
    setSelected(id);
    setFollow(false);
  };

  // Keyboard: j / ArrowDown next, k / ArrowUp previous, within the filtered list.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e) || e.altKey || e.ctrlKey || e.metaKey) return;
      const down = e.key === 'ArrowDown' || e.key === 'j';
      const up = e.key === 'ArrowUp' || e.key === 'k';
      if (!down && !up) return;
      const pos = visible.findIndex((s) => s.sampleId === shownId);
      const next =
        pos < 0
          ? visible[0]
          : visible[Math.min(visible.length - 1, Math.max(0, pos + (down ? 1 : -1)))];
      if (!next) return;
      e.preventDefault();
      setSelected(next.sampleId);
      setFollow(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [visible, shownId]);

  if (shownState.status === 'loading') {
    return (
      <section className="panel inspector" aria-label="Inspector">
        <p>Loading the run…</p>
      </section>
    );
  }
  if (list.length === 0) {
    return (
      <section className="panel inspector" aria-label="Inspector">
        {shownState.status === 'error' ? (
          <p role="alert" className="error">
            {shownState.message}
          </p>
        ) : shown ? (
          <p>{shown.questionsNote ?? 'This run has no questions.'}</p>
        ) : (
          <p>No questions yet: pick a benchmark set or start a run to inspect its questions.</p>
        )}
      </section>
    );
  }
  return (
    <section className="panel inspector" aria-label="Inspector">
      <div className="inspector-side">
        {shown && (
          <p className="hint" data-testid="inspector-run">
            {shown.kind === 'current' ? 'Current run' : 'Stored run'}:{' '}
            {shown.record?.label ?? shown.key}
          </p>
        )}
        {shown?.questionsNote && (
          <p className="hint" role="note">
            {shown.questionsNote}
          </p>
        )}
        <div className="filters" role="group" aria-label="Show questions">
          {FILTERS.map((f) => (
            <button
              key={f.id}
              type="button"
              className={f.id === filter ? 'filter selected' : 'filter'}
              aria-pressed={f.id === filter}
              onClick={() => setFilter(f.id)}
            >
              {f.label} <span className="count">{counts[f.id]}</span>
            </button>
          ))}
        </div>
        <label className="hint">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />{' '}
          follow the running question
        </label>
        <p className="hint">
          {visible.length} shown · <kbd>j</kbd>/<kbd>k</kbd> or arrows to move · letters: predicted
          / gold (official rule; – when it read no letter)
        </p>
        <QuestionList
          samples={visible}
          results={results}
          shownId={shownId}
          liveId={liveId}
          onPick={choose}
        />
      </div>
      {question ? (
        <InspectorDetail
          key={`${shown?.key ?? ''}:${question.sampleId}`}
          runKey={shown?.key ?? null}
          clipValues={shown?.settings?.clipValues ?? OFFICIAL_CONFIG.clipValues}
          sample={question}
          result={results[question.sampleId]}
          onRerun={rerun}
        />
      ) : (
        <p className="hint">No question matches this filter.</p>
      )}
    </section>
  );
}

// The list can hold thousands of rows: memoised so live tokens (which re-render the detail)
// do not re-render it.
const QuestionList = memo(function QuestionList({
  samples,
  results,
  shownId,
  liveId,
  onPick,
}: {
  samples: Sample[];
  results: Record<string, QuestionResult>;
  shownId: string | null;
  liveId: string | null;
  onPick: (id: string) => void;
}) {
  const ref = useRef<HTMLOListElement>(null);
  useEffect(() => {
    if (shownId === null) return;
    ref.current
      ?.querySelector<HTMLElement>(`[data-sample-id="${CSS.escape(shownId)}"]`)
      ?.scrollIntoView({ block: 'nearest' });
  }, [shownId]);
  return (
    <ol ref={ref} className="question-list inspector-list">
      {samples.slice(0, 5000).map((s) => {
        const r = results[s.sampleId];
        const status = s.sampleId === liveId ? 'running' : questionStatus(r);
        const letter = r?.official?.letter;
        return (
          <li key={`${s.level}:${s.sampleId}`}>
            <button
              type="button"
              data-sample-id={s.sampleId}
              className={s.sampleId === shownId ? 'question-row selected' : 'question-row'}
              onClick={() => onPick(s.sampleId)}
            >
              <span className={`status status-${status}`} title={status}>
                {status === 'running' ? '▶' : STATUS_MARK[status]}
              </span>
              <span className="sample-id" title={s.sampleId}>
                {shortSampleId(s.sampleId)}
              </span>
              <span className="pred" title="predicted / gold (official rule)">
                {letter ?? (r?.official ? '–' : '')}
                {r ? `/${s.gold}` : ''}
              </span>
              <span className="goal">{shortGoal(s)}</span>
            </button>
          </li>
        );
      })}
      {samples.length > 5000 && (
        <li className="hint">{samples.length - 5000} more: narrow the filter to see them</li>
      )}
    </ol>
  );
});
