import { accuracyCell, isOfficial } from '../bench/index';
import { useAppStore } from '../store/index';
import { formatDuration, percent } from './format';
import { StoredRuns } from './StoredRuns';

/** Start / pause / resume / cancel, progress with ETA and rate, live accuracy, the live output. */
export function RunPanel() {
  const status = useAppStore((s) => s.runStatus);
  const modelStatus = useAppStore((s) => s.modelStatus);
  const runSamples = useAppStore((s) => s.runSamples);
  const results = useAppStore((s) => s.results);
  const durations = useAppStore((s) => s.sessionDurationsMs);
  const tokensPerS = useAppStore((s) => s.tokensPerS);
  const live = useAppStore((s) => s.live);
  const notices = useAppStore((s) => s.runNotices);
  const config = useAppStore((s) => s.runConfig);
  const { startRun, pauseRun, resumeRun, cancelRun, plannedQuestions } = useAppStore.getState();

  const active = status === 'running' || status === 'pausing' || status === 'paused';
  const total =
    active || status === 'finished' || status === 'cancelled'
      ? runSamples.length
      : plannedQuestions().samples.length;
  const done = runSamples.filter((s) => results[s.sampleId]).length;
  const finished = runSamples.map((s) => results[s.sampleId]).filter((r) => r !== undefined);
  const errors = finished.filter((r) => r.error).length;
  const official = accuracyCell(finished, 'official');
  const recent = durations.slice(-20);
  const perQuestion = recent.length > 0 ? recent.reduce((a, b) => a + b, 0) / recent.length : null;
  const remaining = total - done;
  const eta = perQuestion !== null ? perQuestion * remaining : null;

  return (
    <section className="panel run" aria-label="Run">
      <div className="choice-row">
        {!active && (
          <button
            type="button"
            className="primary"
            disabled={modelStatus !== 'ready' || total === 0}
            title={modelStatus !== 'ready' ? 'Load a model first' : ''}
            onClick={() => void startRun()}
          >
            {status === 'finished' || status === 'cancelled' ? 'Run again / resume' : 'Start run'} (
            {total} questions)
          </button>
        )}
        {status === 'running' && (
          <button type="button" onClick={pauseRun}>
            Pause
          </button>
        )}
        {(status === 'paused' || status === 'pausing') && (
          <button type="button" onClick={resumeRun}>
            Resume
          </button>
        )}
        {active && (
          <button type="button" className="danger" onClick={cancelRun}>
            Cancel
          </button>
        )}
        <span className={isOfficial(config) ? 'official' : 'unofficial'}>
          {isOfficial(config) ? 'official settings' : 'settings differ from the official protocol'}
        </span>
        <span className="hint" data-testid="run-status">
          {status}
        </span>
      </div>
      {(active || done > 0) && (
        <>
          <progress max={total || 1} value={done} aria-label="Run progress" />
          <p className="stats-line" data-testid="run-progress">
            <strong>
              {done} / {total}
            </strong>{' '}
            done
            {errors > 0 && ` · ${errors} with errors`}
            {eta !== null && remaining > 0 && ` · ETA ${formatDuration(eta)}`}
            {perQuestion !== null && ` · ${(60_000 / perQuestion).toFixed(1)} questions/min`}
            {tokensPerS !== null && ` · ${tokensPerS.toFixed(1)} tokens/s`}
            {official.n > 0 &&
              ` · accuracy ${percent(official.accuracy)} (95% CI ${percent(official.wilson.low)}–${percent(official.wilson.high)}, n=${official.n})`}
          </p>
        </>
      )}
      {live && (
        <div className="live" aria-label="Current question">
          <p className="hint">
            Question {live.sampleId}:{' '}
            {live.stage === 'frames' ? 'decoding frames…' : `generating (${live.tokens} tokens)`}
          </p>
          <pre className="live-output" data-testid="live-output">
            {live.text}
          </pre>
        </div>
      )}
      <StoredRuns />
      {notices.length > 0 && (
        <ul className="notices" aria-label="Run messages">
          {notices.slice(-10).map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
