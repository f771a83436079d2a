import { isOfficial } from '../bench/index';
import { useAppStore } from '../store/index';
import { Chip } from './Callout';
import { formatDuration, percent } from './format';
import { StoredRuns } from './StoredRuns';
import { useRunProgress } from './useRunProgress';
import { VisibleText } from './VisibleText';

const STATUS_TONE = {
  idle: 'neutral',
  running: 'info',
  pausing: 'warn',
  paused: 'warn',
  cancelled: 'neutral',
  finished: 'ok',
} as const;

/** Start / pause / resume / cancel, progress with ETA and rate, live accuracy, the live output. */
export function RunPanel() {
  const modelStatus = useAppStore((s) => s.modelStatus);
  const info = useAppStore((s) => s.modelInfo);
  const samples = useAppStore((s) => s.samples);
  const media = useAppStore((s) => s.media);
  const notices = useAppStore((s) => s.runNotices);
  const config = useAppStore((s) => s.runConfig);
  const { startRun, pauseRun, resumeRun, cancelRun } = useAppStore.getState();
  const p = useRunProgress();
  const { status, active, total, done, errors, official, live, estimate: e } = p;

  // Why Start is not possible, said next to it (not in a tooltip).
  const reason =
    modelStatus === 'loading'
      ? 'The model is still loading.'
      : modelStatus !== 'ready'
        ? 'Load a model first (1 · Model).'
        : samples.status !== 'ready'
          ? 'Pick a benchmark set or open an annotation file (2 · Benchmark).'
          : total === 0
            ? 'No questions to run: the set or the chosen subset is empty.'
            : media === null
              ? 'Pick where the clips and stills are (3 · Videos).'
              : null;
  const remaining = total - done;

  return (
    <section className="panel run-panel" aria-labelledby="run-panel-title">
      <div className="run-head">
        <h2 id="run-panel-title">Run</h2>
        <Chip tone={STATUS_TONE[status]} testId="run-status">
          {status}
        </Chip>
        <Chip tone={isOfficial(config) ? 'ok' : 'warn'}>
          {isOfficial(config)
            ? '✓ official settings'
            : '! settings differ from the official protocol'}
        </Chip>
      </div>
      <div className="run-actions">
        {!active && (
          <button
            type="button"
            className="primary"
            disabled={reason !== null}
            aria-describedby={reason ? 'start-reason' : undefined}
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
          <button type="button" className="primary" onClick={resumeRun}>
            Resume
          </button>
        )}
        {active && (
          <button type="button" className="danger" onClick={cancelRun}>
            Cancel
          </button>
        )}
      </div>
      {!active && reason && (
        <p className="start-reason">
          <span className="start-reason-icon" aria-hidden="true">
            !
          </span>{' '}
          <span id="start-reason" data-testid="start-reason">
            {reason}
          </span>
        </p>
      )}
      {info && (active || done > 0) && (
        <p className="run-device" data-testid="run-device">
          On <strong>{info.device === 'webgpu' ? 'WebGPU' : 'wasm'}</strong>
          {info.device === 'wasm' ? ` (${info.threads} threads)` : ''}
          {info.deviceSlow ? ' · software adapter: slow' : ''} · {info.deviceReason}
        </p>
      )}
      {(active || done > 0) && (
        <>
          <progress max={total || 1} value={done} aria-label="Run progress" />
          <p className="stats-line" data-testid="run-progress">
            <strong>
              {done} / {total}
            </strong>{' '}
            done
            {errors > 0 && ` · ${errors} with errors`}
            {status === 'paused' && remaining > 0 && ' · paused'}
            {e.etaMs !== null &&
              ` · ETA ${e.etaUpperBound ? '≤ ' : ''}${formatDuration(e.etaMs)}${e.etaUpperBound ? ' (if every answer uses all its tokens)' : ''}`}
            {e.questionsPerMin !== null && ` · ${e.questionsPerMin.toFixed(1)} questions/min`}
            {p.tokensPerS !== null && ` · ${p.tokensPerS.toFixed(1)} tokens/s`}
            {official.n > 0 &&
              ` · accuracy ${percent(official.accuracy)} (95% CI ${percent(official.wilson.low)}–${percent(official.wilson.high)}, n=${official.n})`}
          </p>
        </>
      )}
      {live && (
        <div className="live" aria-label="Current question">
          <p className="live-head" data-testid="live-status">
            Question <strong>{live.sampleId}</strong>:{' '}
            {live.stage === 'frames'
              ? 'decoding frames…'
              : live.tokens === 0
                ? 'reading the prompt…'
                : `${live.tokens} / ${live.maxTokens} tokens`}
          </p>
          <pre className="live-output" data-testid="live-output">
            <VisibleText text={live.text} />
          </pre>
        </div>
      )}
      {/* Stored runs offer their own Resume: not while this one is going or paused. */}
      {!active && <StoredRuns />}
      {notices.length > 0 && (
        <ul className="run-messages" aria-label="Run messages">
          {notices.slice(-10).map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
