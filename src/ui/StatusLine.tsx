import { useAppStore } from '../store/index';
import { Chip } from './Callout';
import { formatDuration, percent } from './format';
import { useRunProgress } from './useRunProgress';

/** Which device runs, at what speed, and where the run is: one line under the header, every view. */
export function StatusLine() {
  const modelStatus = useAppStore((s) => s.modelStatus);
  const label = useAppStore((s) => s.modelLabel);
  const info = useAppStore((s) => s.modelInfo);
  const p = useRunProgress();
  const e = p.estimate;

  // Said to screen readers when the run changes state, not at every token.
  const settled = p.status === 'finished' || p.status === 'paused' || p.status === 'cancelled';
  const news =
    p.status === 'idle'
      ? ''
      : `Run ${p.status}${settled ? `: ${p.done} of ${p.total} done${p.official.n > 0 ? `, accuracy ${percent(p.official.accuracy)}` : ''}` : ''}.`;

  return (
    <div className="status-line" data-testid="status-line">
      <span className="visually-hidden" role="status">
        {news}
      </span>
      <span className="status-item">
        {modelStatus === 'none' && <span className="muted">No model loaded</span>}
        {modelStatus === 'loading' && <span>Loading {label}…</span>}
        {modelStatus === 'error' && <Chip tone="bad">✕ model failed to load</Chip>}
        {modelStatus === 'ready' && info && (
          <>
            <span className="status-model">{label}</span> · {info.dtype} on{' '}
            <strong data-testid="status-device">
              {info.device === 'webgpu' ? 'WebGPU' : 'wasm'}
              {info.device === 'wasm' && ` (${info.threads} threads)`}
            </strong>
            {info.deviceSlow && (
              <>
                {' '}
                <Chip tone="warn" title={info.deviceReason}>
                  ! software adapter: slow
                </Chip>
              </>
            )}
          </>
        )}
      </span>
      {(p.active || p.done > 0) && (
        <span className="status-item" data-testid="status-run">
          <Chip tone={p.status === 'running' ? 'info' : p.status === 'finished' ? 'ok' : 'neutral'}>
            {p.status}
          </Chip>{' '}
          {p.done} / {p.total}
          {e.tokens !== null && e.maxTokens !== null && ` · ${e.tokens} / ${e.maxTokens} tokens`}
          {p.tokensPerS !== null && p.active && ` · ${p.tokensPerS.toFixed(1)} tokens/s`}
          {e.etaMs !== null && ` · ETA ${e.etaUpperBound ? '≤ ' : ''}${formatDuration(e.etaMs)}`}
          {!p.active && p.official.n > 0 && ` · accuracy ${percent(p.official.accuracy)}`}
        </span>
      )}
    </div>
  );
}
