import { useEffect, useState } from 'react';
import { useAppStore, type RunRecord } from '../store/index';

interface Unfinished {
  record: RunRecord;
  done: number;
}

/** Runs left unfinished (a reload, a crash, a cancel): one click sets them up and continues. */
export function StoredRuns() {
  const status = useAppStore((s) => s.runStatus);
  const resumeStoredRun = useAppStore((s) => s.resumeStoredRun);
  const storedRuns = useAppStore((s) => s.storedRuns);
  const refreshStoredRuns = useAppStore((s) => s.refreshStoredRuns);
  const storedResults = useAppStore((s) => s.storedResults);
  const [runs, setRuns] = useState<Unfinished[]>([]);
  const [busy, setBusy] = useState<string | null>(null);

  useEffect(() => {
    void refreshStoredRuns();
  }, [status, refreshStoredRuns]);

  useEffect(() => {
    // Set false on cleanup; an object, so the check below is not narrowed away.
    const effect = { alive: true };
    void (async () => {
      const list: Unfinished[] = [];
      // Runs identified by name only (older versions) cannot be resumed: they are not listed.
      for (const record of storedRuns.filter((r) => r.settings !== null)) {
        const ids = new Set(record.sampleIds);
        const stored = await storedResults(record.key).catch(() => []);
        const done = stored.filter((r) => ids.has(r.sampleId)).length;
        if (done < record.sampleIds.length) list.push({ record, done });
      }
      if (effect.alive) setRuns(list);
    })();
    return () => {
      effect.alive = false;
    };
  }, [storedRuns, storedResults]);

  if (status === 'running' || status === 'pausing' || runs.length === 0) return null;
  return (
    <section className="stored-runs" aria-label="Unfinished runs">
      <h3>Unfinished runs</h3>
      <ul>
        {runs.slice(0, 5).map(({ record, done }) => (
          <li key={record.key}>
            <span>
              {record.label} ·{' '}
              <strong>
                {done} / {record.sampleIds.length}
              </strong>{' '}
              done · {new Date(record.updatedAt).toLocaleString()}
            </span>{' '}
            <button
              type="button"
              disabled={busy !== null}
              onClick={() => {
                setBusy(record.key);
                void resumeStoredRun(record).finally(() => setBusy(null));
              }}
            >
              {busy === record.key ? 'Setting up…' : 'Resume'}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
