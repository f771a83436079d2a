import { useEffect, useMemo, useRef, useState } from 'react';
import { CHOICE_LETTERS, type Sample } from '../bench/index';
import { useAppStore } from '../store/index';

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

/** Browse a set's questions: a filterable list and the selected question in full. */
export function QuestionBrowser() {
  const samples = useAppStore((s) => s.samples);
  const index = useAppStore((s) => s.questionIndex);
  const selectQuestion = useAppStore((s) => s.selectQuestion);
  const [query, setQuery] = useState('');
  const listRef = useRef<HTMLOListElement>(null);

  const all = useMemo(() => (samples.status === 'ready' ? samples.value : []), [samples]);
  const visible = useMemo(
    () => all.map((s, i) => ({ s, i })).filter(({ s }) => matches(s, query)),
    [all, query],
  );

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

  useEffect(() => {
    listRef.current
      ?.querySelector<HTMLElement>(`[data-index="${index}"]`)
      ?.scrollIntoView({ block: 'nearest' });
  }, [index]);

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
  return (
    <section className="panel browser" aria-label="Questions">
      <div className="browser-list">
        <input
          type="search"
          placeholder="Filter by id, text, domain…"
          aria-label="Filter questions"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <p className="hint">
          {visible.length} of {all.length} · <kbd>j</kbd>/<kbd>k</kbd> or arrows to move
        </p>
        <ol ref={listRef} className="question-list">
          {visible.slice(0, 5000).map(({ s, i }) => (
            <li key={s.sampleId}>
              <button
                type="button"
                data-index={i}
                className={i === index ? 'question-row selected' : 'question-row'}
                onClick={() => selectQuestion(i)}
              >
                <span className="sample-id">{s.sampleId}</span>
                <span className="goal">{s.taskGoal ?? s.question}</span>
              </button>
            </li>
          ))}
        </ol>
      </div>
      {current && <QuestionDetail sample={current} />}
    </section>
  );
}

function QuestionDetail({ sample }: { sample: Sample }) {
  return (
    <article className="question-detail" aria-label={`Question ${sample.sampleId}`}>
      <h2>
        <span className={`level level-${sample.level}`}>{sample.level}</span> Question{' '}
        <span data-testid="sample-id">{sample.sampleId}</span>
      </h2>
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
