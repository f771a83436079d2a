import type { RunRecord, RunStats } from '../store/index';
import type { RunSettings } from '../bench/index';
import { formatDuration, percent } from './format';
import { dateText, shortModel, subsetText, unofficialReasons } from './run-text';
import './runs.css';

/**
 * The top of a run's page: what ran (model, device, dtype, set, settings), how long, and its
 * number — official accuracy with its 95% Wilson interval — or why it is not the benchmark's.
 */
export function RunHeadline({
  runKey,
  record,
  settings,
  stats,
  status,
}: {
  runKey: string;
  record: RunRecord | null;
  settings: RunSettings | null;
  stats: RunStats;
  /** The run's state as shown ('running' for this session's live run). */
  status: string;
}) {
  const official = stats.official;
  const reasons = settings ? unofficialReasons(settings) : [];
  const devices =
    stats.devices.length > 0
      ? stats.devices.join(', ')
      : (record?.device ?? settings?.device ?? 'not recorded');
  const model = settings?.model.label ?? record?.label ?? runKey;
  return (
    <header className="run-headline" aria-label="Run summary" data-testid="run-headline">
      <p className="run-headline-eyebrow">
        <span className={`run-card-status run-status-${status}`} data-testid="headline-status">
          {status === 'paused' ? 'unfinished' : status}
        </span>{' '}
        {settings ? settings.benchmark.id : (record?.label ?? '')}
      </p>
      <h2 className="run-headline-title" data-testid="headline-model">
        {shortModel(model)}
      </h2>
      <div className="run-headline-metric">
        <span className="run-headline-number" data-testid="headline-accuracy">
          {official.n > 0 ? percent(official.accuracy) : '—'}
        </span>
        <span className="run-headline-metric-text">
          {official.n > 0 ? (
            <>
              accuracy, official rule ·{' '}
              <span data-testid="headline-interval">
                95% CI {percent(official.wilson.low)}–{percent(official.wilson.high)}
              </span>{' '}
              (Wilson) · {official.correct} of {official.n} right
            </>
          ) : (
            'no question scored by the official rule yet'
          )}
        </span>
        {settings &&
          (settings.official ? (
            <span className="run-headline-badge run-badge-ok" data-testid="headline-official">
              ✓ Official protocol
            </span>
          ) : (
            <span className="run-headline-badge run-badge-warn" data-testid="headline-official">
              ⚠ Not official: {reasons.join('; ')}
            </span>
          ))}
      </div>
      <dl className="run-headline-facts">
        <div className="run-headline-wide">
          <dt>Model</dt>
          <dd title={model}>{model}</dd>
        </div>
        <div>
          <dt>Device</dt>
          <dd data-testid="headline-device">{devices}</dd>
        </div>
        <div>
          <dt>dtype</dt>
          <dd data-testid="headline-dtype">{settings?.model.dtype ?? '—'}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-testid="headline-duration">
            {stats.durationMs > 0 ? formatDuration(stats.durationMs) : '—'}
          </dd>
        </div>
        <div>
          <dt>Questions</dt>
          <dd data-testid="headline-done">
            {stats.done} / {stats.total} done
            {stats.errors > 0 ? ` · ${stats.errors} with errors` : ''}
            {settings ? ` · ${subsetText(settings.subset)}` : ''}
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{record ? dateText(record.createdAt) : '—'}</dd>
        </div>
        {settings && (
          <div className="run-headline-wide">
            <dt>Decoding</dt>
            <dd>
              greedy, max {settings.maxNewTokens} new tokens · wording {settings.wording} · clip
              frames {settings.clipValues === 'uint8' ? 'rounded' : 'float'}
            </dd>
          </div>
        )}
        <div className="run-headline-key">
          <dt>Run key</dt>
          <dd>
            <code>{runKey}</code>
          </dd>
        </div>
      </dl>
    </header>
  );
}
