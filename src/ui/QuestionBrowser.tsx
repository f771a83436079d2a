import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { CHOICE_LETTERS, type Sample } from '../bench/index';
import { useAppStore, type StoredResult } from '../store/index';
import { QuestionPlayer } from './QuestionPlayer';
import { questionStatus, shortGoal } from './results-inspect';
import { shortSampleId } from './run-text';
import { SpotRun } from './SpotRun';
import './spot.css';

function matches(s: Sample, query: string) {
  if (!query) return true;
  const q = query.toLowerCase();
  return (
    s.sampleId.toLowerCase().includes(q) ||
    s.question.toLowerCase().includes(q) ||
    s.choices.some((c) => c.toLowerCase().includes(q)) ||
    (s.domain ?? '').toLowerCase().includes(q) ||
    (s.scenario ?? '').toLowerCase().includes(q)
  );
}

function isTyping(e: KeyboardEvent) {
  const t = e.target instanceof HTMLElement ? e.target : null;
  return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable);
}

const MARK = {
  right: { sign: '✓', text: 'right' },
  wrong: { sign: '✗', text: 'wrong' },
  unparseable: { sign: '?', text: 'unparseable' },
  error: { sign: '!', text: 'error' },
} as const;

/** The browsed set's run results the list marks (live when that run is the current one). */
function useMarks(): Record<string, StoredResult> {
  const marks = useAppStore((s) => s.setMarks);
  const runKey = useAppStore((s) => s.runKey);
  const results = useAppStore((s) => s.results);
  return useMemo(
    () =>
      marks && marks.runKey === runKey ? { ...marks.results, ...results } : (marks?.results ?? {}),
    [marks, runKey, results],
  );
}

/**
 * Browse a set's questions: a readable list (short id, the task goal, domain and scenario, a
 * right/wrong mark once run) and the selected question in full, with its clip playing, the frames
 * a run samples, and "Run this question".
 */
export function QuestionBrowser() {
  const samples = useAppStore((s) => s.samples);
  const setId = useAppStore((s) => s.setId);
  const index = useAppStore((s) => s.questionIndex);
  const selectQuestion = useAppStore((s) => s.selectQuestion);
  const refreshSetMarks = useAppStore((s) => s.refreshSetMarks);
  const modelStatus = useAppStore((s) => s.modelStatus);
  const runStatus = useAppStore((s) => s.runStatus);
  const marks = useMarks();
  const [query, setQuery] = useState('');

  const all = useMemo(() => (samples.status === 'ready' ? samples.value : []), [samples]);
  const visible = useMemo(
    () => all.map((s, i) => ({ s, i })).filter(({ s }) => matches(s, query)),
    [all, query],
  );

  // Marks follow the set, the loaded model (its run is the one a spot check adds to) and runs.
  useEffect(() => {
    void refreshSetMarks();
  }, [setId, samples.status, modelStatus, runStatus, refreshSetMarks]);

  // Keyboard: j / ArrowDown next, k / ArrowUp previous, within the filtered list.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e) || e.altKey || e.ctrlKey || e.metaKey) return;
      const pos = visible.findIndex((v) => v.i === index);
      let next: number | undefined;
      if (e.key === 'ArrowDown' || e.key === 'j') next = visible[Math.max(0, pos + 1)]?.i;
      else if (e.key === 'ArrowUp' || e.key === 'k') next = visible[Math.max(0, pos - 1)]?.i;
      if (next === undefined) return;
      e.preventDefault();
      selectQuestion(next);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [visible, index, selectQuestion]);

  if (samples.status === 'idle') {
    return (
      <section className="panel browser">Pick a benchmark set to browse its questions.</section>
    );
  }
  if (samples.status === 'loading') return <section className="panel browser">Loading…</section>;
  if (samples.status === 'error') {
    return (
      <section className="panel browser" role="alert">
        {samples.message}
      </section>
    );
  }
  const current = all[index];
  const run = Object.keys(marks).length;
  return (
    <section className="panel browser qb" aria-label="Questions">
      <div className="browser-list qb-list">
        <input
          type="search"
          placeholder="Filter by id, text, domain…"
          aria-label="Filter questions"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <p className="hint">
          {visible.length} of {all.length}
          {run > 0 ? ` · ${run} answered` : ''} · <kbd>j</kbd>/<kbd>k</kbd> or arrows to move
        </p>
        <QuestionRows visible={visible} index={index} marks={marks} onPick={selectQuestion} />
      </div>
      {current && <QuestionDetail sample={current} />}
    </section>
  );
}

const QuestionRows = memo(function QuestionRows({
  visible,
  index,
  marks,
  onPick,
}: {
  visible: { s: Sample; i: number }[];
  index: number;
  marks: Record<string, StoredResult>;
  onPick: (i: number) => void;
}) {
  const listRef = useRef<HTMLOListElement>(null);
  useEffect(() => {
    listRef.current
      ?.querySelector<HTMLElement>(`[data-index="${index}"]`)
      ?.scrollIntoView({ block: 'nearest' });
  }, [index]);
  return (
    <ol ref={listRef} className="question-list qb-rows">
      {visible.slice(0, 5000).map(({ s, i }) => {
        const r = marks[s.sampleId];
        const status = questionStatus(r);
        const mark = status === 'not-run' ? null : MARK[status];
        return (
          <li key={s.sampleId}>
            <button
              type="button"
              data-index={i}
              className={i === index ? 'question-row qb-row selected' : 'question-row qb-row'}
              aria-current={i === index ? 'true' : undefined}
              onClick={() => onPick(i)}
            >
              <span className={`qb-mark qb-mark-${status}`} data-testid="question-mark">
                {mark && (
                  <>
                    <span aria-hidden="true">{mark.sign}</span>
                    <span className="visually-hidden">{mark.text}</span>
                  </>
                )}
              </span>
              <span className="sample-id qb-id" title={s.sampleId}>
                {shortSampleId(s.sampleId)}
              </span>
              <span className="goal qb-goal">{shortGoal(s)}</span>
              {(s.domain ?? s.scenario) && (
                <span className="qb-tags">
                  {s.domain && <span className="qb-tag">{s.domain}</span>}
                  {s.scenario && <span className="qb-tag">{s.scenario}</span>}
                </span>
              )}
            </button>
          </li>
        );
      })}
      {visible.length > 5000 && (
        <li className="hint">{visible.length - 5000} more: filter to see them</li>
      )}
    </ol>
  );
});

function QuestionDetail({ sample }: { sample: Sample }) {
  const setId = useAppStore((s) => s.setId);
  const spot = useAppStore((s) => (s.spot?.sampleId === sample.sampleId ? s.spot : null));
  const showSpot = useAppStore((s) => s.showSpot);
  const setPresenting = useAppStore((s) => s.setPresenting);
  const media = useAppStore((s) => s.media);
  const clipValues = useAppStore((s) => s.runConfig.clipValues);

  // The clip opens and its frames are sampled when the question (or the clips folder) changes.
  useEffect(() => {
    void showSpot(sample);
  }, [sample, media, clipValues, showSpot]);
  useEffect(() => () => void showSpot(null), [showSpot]);

  return (
    <article className="question-detail qb-detail" aria-label={`Question ${sample.sampleId}`}>
      <header className="qb-detail-head">
        <h2>
          <span className={`level level-${sample.level}`}>{sample.level}</span> Question{' '}
          <span data-testid="sample-id">{sample.sampleId}</span>
        </h2>
        {setId && (
          <button type="button" onClick={() => setPresenting(true)}>
            Present (full screen)
          </button>
        )}
      </header>
      {sample.domain && (
        <p className="meta">
          {sample.domain} · {sample.scenario}
        </p>
      )}
      <p className="question-text">{sample.question}</p>
      <ol className="choices">
        {sample.choices.map((c, i) => {
          const letter = CHOICE_LETTERS[i];
          const gold = letter === sample.gold;
          return (
            <li key={letter} className={gold ? 'choice gold' : 'choice'}>
              <span className="letter">{letter}.</span> {c}
              {gold && <span className="badge">gold</span>}
            </li>
          );
        })}
      </ol>
      <QuestionPlayer sample={sample} frames={spot?.frames ?? null} />
      <SpotRun sample={sample} />
      <dl className="meta-grid">
        <dt>Clip</dt>
        <dd data-testid="clip-name">
          {sample.clipPaths ? sample.clipPaths[0] : 'none (still only)'}
        </dd>
        <dt>Still</dt>
        <dd>{sample.stillPath ?? 'last frame of the clip'}</dd>
        <dt>Progress</dt>
        <dd>
          {sample.progress.length > 0
            ? sample.progress.map((p) => p.narrationText).join(' → ')
            : sample.hasClip
              ? 'clip up to the current observation'
              : 'none'}
        </dd>
        <dt>Source</dt>
        <dd>
          {sample.origin.file}
          {sample.origin.line !== undefined ? `:${sample.origin.line}` : ''}
          {sample.origin.index !== undefined ? ` [${sample.origin.index}]` : ''}
        </dd>
      </dl>
    </article>
  );
}
