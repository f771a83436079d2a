import { useEffect, useState } from 'react';
import { listRuns, loadResults, useAppStore, type RunRecord } from '../store/index';

interface Unfinished {
  record: RunRecord;
  done: number;
}

/** Runs left unfinished (a reload, a crash, a cancel): one click sets them up and continues. */
export function StoredRuns() {
  const status = useAppStore((s) => s.runStatus);
  const resumeStoredRun = useAppStore((s) => s.resumeStoredRun);
  const [runs, setRuns] = useState<Unfinished[]>([]);
  const [busy, setBusy] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    void (async () => {
      const records = await listRuns().catch(() => []);
      const list: Unfinished[] = [];
      for (const record of records) {
        const done = (await loadResults(record.key).catch(() => [])).filter((r) =>
          record.sampleIds.includes(r.sampleId),
        ).length;
        if (done < record.sampleIds.length) list.push({ record, done });
      }
      list.sort((a, b) => b.record.updatedAt.localeCompare(a.record.updatedAt));
      if (alive) setRuns(list);
    })();
    return () => {
      alive = false;
    };
  }, [status]);

  if (status === 'running' || status === 'pausing' || runs.length === 0) return null;
  return (
    <section className="stored-runs" aria-label="Unfinished runs">
      <h3>Unfinished runs</h3>
      <ul>
        {runs.slice(0, 5).map(({ record, done }) => (
          <li key={record.key}>
            <span>
              {record.settings.benchmark} · {record.settings.model} · {record.settings.dtype} ·{' '}
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
