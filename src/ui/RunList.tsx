import type { RunRecord, RunStats } from '../store/index';
import { formatDuration, percent } from './format';
import { dateText, settingsText, shortModel } from './run-text';
import './runs.css';

export interface RunListEntry {
  record: RunRecord;
  stats: RunStats | undefined;
  /** This session's run (its stats are live). */
  current: boolean;
}

const STATUS_TEXT: Record<RunRecord['status'], string> = {
  running: 'running',
  paused: 'unfinished',
  cancelled: 'cancelled',
  finished: 'finished',
};

/**
 * Every stored run, newest first: model, set, settings, started, duration, done/total, accuracy.
 * One button per run; the shown run is marked (aria-current) and listed first when it is new.
 */
export function RunList({
  entries,
  shownKey,
  onOpen,
}: {
  entries: RunListEntry[];
  shownKey: string | null;
  onOpen: (key: string) => void;
}) {
  if (entries.length === 0) {
    return (
      <p className="hint" data-testid="run-list-empty">
        No runs yet. Start one in the Run view (Alt+2); every finished question is kept here.
      </p>
    );
  }
  return (
    <ol className="run-list" aria-label="Runs">
      {entries.map(({ record, stats, current }) => {
        const s = record.settings;
        const official = stats?.official;
        const status = current && record.status === 'running' ? 'running' : record.status;
        return (
          <li key={record.key}>
            <button
              type="button"
              className="run-card"
              aria-current={record.key === shownKey ? 'true' : undefined}
              data-run-key={record.key}
              onClick={() => onOpen(record.key)}
            >
              <span className="run-card-title">
                {s ? `${shortModel(s.model.label)} · ${s.benchmark.id}` : record.label}
              </span>
              <span className={`run-card-status run-status-${status}`}>
                {STATUS_TEXT[status]}
                {current ? ' · this session' : ''}
              </span>
              <span className="run-card-settings">
                {s ? settingsText(s) : 'identified by name only (older version)'}
              </span>
              <span className="run-card-facts">
                <span>started {dateText(record.createdAt)}</span>
                {stats && stats.durationMs > 0 && <span>{formatDuration(stats.durationMs)}</span>}
              </span>
              <span className="run-card-numbers">
                <span data-testid="run-done">
                  {stats ? `${stats.done} / ${stats.total}` : `? / ${record.sampleIds.length}`} done
                </span>
                <span data-testid="run-accuracy">
                  {official && official.n > 0
                    ? `${percent(official.accuracy)} (n ${official.n})`
                    : 'no official score yet'}
                </span>
              </span>
            </button>
          </li>
        );
      })}
    </ol>
  );
}
