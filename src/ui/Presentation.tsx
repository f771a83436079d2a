import { useEffect, useMemo, useRef, useState } from 'react';
import { CHOICE_LETTERS, type Sample } from '../bench/index';
import { libraryFromDirectory, libraryFromFiles, useAppStore } from '../store/index';
import { FolderPicker } from './FolderPicker';
import { OutputText } from './OutputText';
import { QuestionPlayer } from './QuestionPlayer';
import { shortSampleId, verdictOf } from './run-text';
import { useSpotBlocker } from './SpotRun';
import './presentation.css';

// Keys a presenter's clicker or keyboard sends: arrows and Page Up/Down move, R runs.
const NEXT = new Set(['ArrowRight', 'PageDown', 'n']);
const PREVIOUS = new Set(['ArrowLeft', 'PageUp', 'p']);

/**
 * Presentation mode (?present=1&set=…&q=…, or "Present" on a question): one question at talk
 * size — the clip playing with its sampled frames, the question and choices large, the model's
 * reasoning streaming as it runs, then its answer lit against the gold one. Arrow keys (and a
 * clicker's Page Up/Down) move between questions; Esc goes back to the app.
 */
export function Presentation() {
  const samples = useAppStore((s) => s.samples);
  const index = useAppStore((s) => s.questionIndex);
  const manifest = useAppStore((s) => s.manifest);
  const setId = useAppStore((s) => s.setId);
  const selectQuestion = useAppStore((s) => s.selectQuestion);
  const setPresenting = useAppStore((s) => s.setPresenting);
  const runSpot = useAppStore((s) => s.runSpot);
  const all = samples.status === 'ready' ? samples.value : [];
  const sample = all[index];
  const blocker = useSpotBlocker(sample?.sampleId ?? '');
  const [revealed, setRevealed] = useState<string | null>(null);

  const title =
    manifest.status === 'ready'
      ? (manifest.value.sets.find((x) => x.id === setId)?.title ?? setId)
      : setId;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const t = e.target;
      if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement) return;
      if (NEXT.has(e.key)) selectQuestion(index + 1);
      else if (PREVIOUS.has(e.key)) selectQuestion(index - 1);
      else if (e.key === 'Home') selectQuestion(0);
      else if (e.key === 'End') selectQuestion(all.length - 1);
      else if ((e.key === 'r' || e.key === 'R') && sample && !blocker)
        void runSpot(sample.sampleId);
      else if ((e.key === 'g' || e.key === 'G') && sample) setRevealed(sample.sampleId);
      else if (e.key === 'f' || e.key === 'F') void toggleFullscreen();
      else if (e.key === 'Escape' && !document.fullscreenElement) setPresenting(false);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [index, all.length, sample, blocker, selectQuestion, runSpot, setPresenting]);

  return (
    <div className="present" data-testid="presentation">
      <header className="present-bar">
        <p className="present-where">
          <span className="present-set">{title ?? 'No set'}</span>
          {sample && (
            <span data-testid="present-position">
              Question {index + 1} / {all.length}
            </span>
          )}
          {sample?.domain && (
            <span className="present-tags">
              {sample.domain} · {sample.scenario}
            </span>
          )}
        </p>
        <nav className="present-controls" aria-label="Presentation">
          <button type="button" onClick={() => selectQuestion(index - 1)} disabled={index <= 0}>
            ← Previous
          </button>
          <button
            type="button"
            onClick={() => selectQuestion(index + 1)}
            disabled={index >= all.length - 1}
          >
            Next →
          </button>
          <button type="button" onClick={() => void toggleFullscreen()}>
            Full screen (F)
          </button>
          <button type="button" onClick={() => setPresenting(false)}>
            Exit (Esc)
          </button>
        </nav>
      </header>
      {samples.status === 'loading' || manifest.status === 'loading' ? (
        <p className="present-message">Loading the benchmark set…</p>
      ) : samples.status === 'error' ? (
        <p className="present-message" role="alert">
          {samples.message}
        </p>
      ) : !sample ? (
        <p className="present-message">
          No question to show: open a set (?present=1&amp;set=&lt;set id&gt;&amp;q=&lt;sample
          id&gt;), or press Esc and pick one in Benchmarks.
        </p>
      ) : (
        <Slide
          key={sample.sampleId}
          sample={sample}
          revealed={revealed === sample.sampleId}
          blocker={blocker}
          onRun={() => void runSpot(sample.sampleId)}
          onReveal={() => setRevealed(sample.sampleId)}
        />
      )}
    </div>
  );
}

async function toggleFullscreen() {
  try {
    if (document.fullscreenElement) await document.exitFullscreen();
    else await document.documentElement.requestFullscreen();
  } catch {
    // Refused (no user gesture, or the page is embedded): the layout already fills the window.
  }
}

function Slide({
  sample,
  revealed,
  blocker,
  onRun,
  onReveal,
}: {
  sample: Sample;
  revealed: boolean;
  blocker: string | null;
  onRun: () => void;
  onReveal: () => void;
}) {
  const id = sample.sampleId;
  const spot = useAppStore((s) => (s.spot?.sampleId === id ? s.spot : null));
  const showSpot = useAppStore((s) => s.showSpot);
  const media = useAppStore((s) => s.media);
  const setMedia = useAppStore((s) => s.setMedia);
  const clipValues = useAppStore((s) => s.runConfig.clipValues);
  const live = useAppStore((s) => (s.live?.sampleId === id ? s.live : null));
  const latest = useAppStore((s) => (s.spotAnswer?.sampleId === id ? s.spotAnswer : null));
  // A slide starts clean: an answer from before it opened (a spot check, an earlier visit) is a
  // recorded one, shown on request, so the audience sees the model answer live.
  const [before] = useState(latest);
  const answer = latest !== before ? latest : null;
  const marked = useAppStore((s) => s.setMarks?.results[id] ?? null);
  const recorded = before?.result ?? marked;
  const [showRecorded, setShowRecorded] = useState(false);
  const result = answer?.result ?? (showRecorded ? recorded : null);
  const verdict = result ? verdictOf(sample, result) : null;
  const chosen = result?.official?.letter ?? null;
  const goldShown = revealed || result !== null;

  useEffect(() => {
    void showSpot(sample);
  }, [sample, media, clipValues, showSpot]);

  // The reasoning box keeps its newest line in view while tokens stream in.
  const reasoning = useRef<HTMLDivElement>(null);
  const text = live?.stage === 'model' ? live.text : (result?.response ?? '');
  useEffect(() => {
    const el = reasoning.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [text]);

  return (
    <main className="present-stage">
      <section className="present-media" aria-label="Clip and sampled frames">
        <QuestionPlayer sample={sample} frames={spot?.frames ?? null} talk />
        {spot?.frames.status === 'error' && (
          <div className="present-pick">
            <FolderPicker
              what="Clips folder"
              pickText="Pick the clips folder…"
              onHandle={(handle) => void libraryFromDirectory(handle).then(setMedia)}
              onFiles={(list) => setMedia(libraryFromFiles(list))}
            />
          </div>
        )}
      </section>
      <section className="present-text" aria-label={`Question ${id}`}>
        <p className="present-id">
          <span className={`level level-${sample.level}`}>{sample.level}</span>{' '}
          <span title={id}>{shortSampleId(id)}</span>
        </p>
        <h1 className="present-question" data-testid="present-question">
          <QuestionText question={sample.question} />
        </h1>
        <ol className="present-choices">
          {sample.choices.map((c, i) => {
            const letter = CHOICE_LETTERS[i] ?? 'A';
            const gold = goldShown && letter === sample.gold;
            const picked = chosen === letter;
            const cls = [
              'present-choice',
              gold ? 'gold' : '',
              picked ? 'chosen' : '',
              picked && letter !== sample.gold ? 'wrong' : '',
            ]
              .filter(Boolean)
              .join(' ');
            return (
              <li key={letter} className={cls} data-letter={letter}>
                <span className="present-letter">{letter}</span>
                <span className="present-choice-text">{c}</span>
                {(gold || picked) && (
                  <span className="present-choice-tags">
                    {picked && (
                      <span className="present-tag-chosen">
                        {letter === sample.gold ? '✓' : '✗'} model’s answer
                      </span>
                    )}
                    {gold && <span className="present-tag-gold">✓ gold</span>}
                  </span>
                )}
              </li>
            );
          })}
        </ol>
        <div className="present-run">
          <ModelButton blocker={blocker} onRun={onRun} />
          {!goldShown && (
            <button type="button" onClick={onReveal}>
              Show gold (G)
            </button>
          )}
          {recorded && !answer && !showRecorded && (
            <button type="button" onClick={() => setShowRecorded(true)}>
              Show the recorded answer
            </button>
          )}
        </div>
        {answer?.status === 'refused' && (
          <p className="present-problem" role="status">
            {answer.message}
          </p>
        )}
        {(live || result) && (
          <div
            className="present-reasoning"
            ref={reasoning}
            data-testid="present-reasoning"
            role="region"
            aria-label="The model's output"
            // It scrolls once the reasoning is long: focusable, so the keyboard scrolls it too.
            tabIndex={0}
          >
            {live?.stage === 'frames' ? (
              <p>Decoding the clip…</p>
            ) : (
              <OutputText text={text} streaming={live !== null} />
            )}
          </div>
        )}
        {live?.stage === 'model' && (
          <p className="present-hint" data-testid="present-tokens">
            {live.tokens} tokens
          </p>
        )}
        {verdict && !live && (
          <p className={`present-verdict verdict-${verdict.kind}`} data-testid="present-verdict">
            {verdict.text}
            {!answer ? ' (recorded)' : ''}
          </p>
        )}
      </section>
    </main>
  );
}

/**
 * The question with its distinctive part set large: EgoPlan-style questions share a long opening
 * ("Considering the progress shown in the video … in order to") and differ in the goal after it.
 */
function QuestionText({ question }: { question: string }) {
  const at = question.lastIndexOf(' in order to ');
  if (at < 0) return <span className="present-goal">{question}</span>;
  const cut = at + ' in order to '.length;
  return (
    <>
      <span className="present-lead">{question.slice(0, cut)}</span>
      <span className="present-goal">{question.slice(cut)}</span>
    </>
  );
}

/** Run with the loaded model, or load one first: the last run's (else the tiny test model). */
function ModelButton({ blocker, onRun }: { blocker: string | null; onRun: () => void }) {
  const modelStatus = useAppStore((s) => s.modelStatus);
  const modelError = useAppStore((s) => s.modelError);
  const loadModel = useAppStore((s) => s.loadModel);
  const storedRuns = useAppStore((s) => s.storedRuns);
  const refreshStoredRuns = useAppStore((s) => s.refreshStoredRuns);
  const lastModel = useAppStore((s) => s.lastModel);
  useEffect(() => {
    void refreshStoredRuns();
  }, [refreshStoredRuns]);
  // The latest run's model, once the stored runs are read.
  const m = useMemo(() => lastModel(), [lastModel, storedRuns]); // eslint-disable-line react-hooks/exhaustive-deps
  if (modelStatus === 'none' || modelStatus === 'error') {
    const int8 = m.q4Int8 === 'prefill' || m.q4Int8 === 'all' ? `, int8 ${m.q4Int8}` : '';
    return (
      <>
        <button
          type="button"
          onClick={() => void loadModel(m.source, m.label, m.dtype, m.device, m.q4Int8)}
        >
          Load {m.label} ({m.dtype}, {m.device}
          {int8})
        </button>
        {modelError && <span className="present-problem">{modelError}</span>}
      </>
    );
  }
  return (
    <>
      <button type="button" className="primary" onClick={onRun} disabled={blocker !== null}>
        Run the model (R)
      </button>
      {blocker && <span className="present-hint">{blocker}</span>}
    </>
  );
}
