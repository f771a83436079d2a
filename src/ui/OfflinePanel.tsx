import { useEffect, useState } from 'react';
import { useAppStore, type HostInfo, type OfflineReport } from '../store/index';
import { formatBytes } from './format';
import './offline.css';

function isolationText(h: HostInfo): string {
  switch (h.isolation) {
    case 'isolated':
      return 'cross-origin isolated: wasm runs multithreaded';
    case 'pending':
      return 'becoming cross-origin isolated…';
    case 'reload-needed':
      return `not cross-origin isolated yet: ${h.isolationProblem ?? ''}`;
    case 'unavailable':
      return `not cross-origin isolated (${h.isolationProblem ?? 'unknown'}): wasm runs single-threaded`;
  }
}

function workerText(h: HostInfo): string {
  switch (h.worker) {
    case 'off':
      return 'no service worker (development build)';
    case 'starting':
      return 'service worker starting: saving the app for offline use…';
    case 'active':
      return 'service worker active: the app loads offline';
    case 'unavailable':
      return `no offline copy: ${h.workerProblem ?? 'unknown'}`;
  }
}

const total = (files: { bytes: number }[]) => files.reduce((s, f) => s + f.bytes, 0);

function Saved(props: {
  report: OfflineReport;
  setFiles: string[] | null;
  onRemove: (base: string) => void;
}) {
  const { shell, sets, models } = props.report;
  const cachedSets = new Set(sets.map((s) => s.path));
  const missing = (props.setFiles ?? []).filter((f) => !cachedSets.has(`benchmarks/${f}`));
  return (
    <ul className="saved">
      <li data-testid="offline-shell">
        App shell and built assets: {shell.length} files, {formatBytes(total(shell))}
        {shell.length === 0 && ' (not saved yet)'}
      </li>
      <li data-testid="offline-sets">
        Benchmark sets: {sets.filter((s) => s.path !== 'benchmarks/manifest.json').length}
        {props.setFiles ? ` of ${props.setFiles.length}` : ''} set files and the manifest,{' '}
        {formatBytes(total(sets))}
        {missing.length > 0 && ` · not saved: ${missing.join(', ')}`}
      </li>
      <li>
        Models (cached when loaded from a URL or the hub; local folders are read in place):
        {models.length === 0 ? (
          <span data-testid="offline-models"> none</span>
        ) : (
          <table className="saved-models" data-testid="offline-models">
            <tbody>
              {models.map((m) => (
                <tr key={m.base}>
                  <td>
                    <code>{m.base}</code>
                  </td>
                  <td>
                    {m.files} files, {formatBytes(m.bytes)}
                  </td>
                  <td>
                    <button
                      type="button"
                      aria-label={`Remove ${m.base} from the cache`}
                      onClick={() => props.onRemove(m.base)}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </li>
    </ul>
  );
}

/** Where the app runs from, whether wasm can use threads, and what is saved for offline use. */
export function OfflinePanel() {
  const host = useAppStore((s) => s.host);
  const offline = useAppStore((s) => s.offline);
  const manifest = useAppStore((s) => s.manifest);
  const modelStatus = useAppStore((s) => s.modelStatus);
  const refresh = useAppStore((s) => s.refreshOffline);
  const uncache = useAppStore((s) => s.uncacheModel);
  const applyUpdate = useAppStore((s) => s.applyUpdate);
  const reloadForIsolation = useAppStore((s) => s.reloadForIsolation);
  const [open, setOpen] = useState(false);

  // Re-read the caches when they may have changed: opened, worker ready, a model loaded.
  useEffect(() => {
    if (open) void refresh();
  }, [open, host.worker, modelStatus, refresh]);

  const setFiles = manifest.status === 'ready' ? manifest.value.sets.map((s) => s.file) : null;
  return (
    <footer className="host-panel" aria-label="Hosting and offline use">
      <p data-testid="host-summary">
        Running from <code>{host.location}</code> ·{' '}
        <span
          data-testid="isolation-status"
          className={host.isolation === 'isolated' ? 'ok' : 'warn'}
        >
          {isolationText(host)}
        </span>{' '}
        · <span data-testid="worker-status">{workerText(host)}</span>
        {host.isolation === 'reload-needed' && (
          <button type="button" onClick={reloadForIsolation}>
            Reload
          </button>
        )}
        {host.updateReady && (
          <button type="button" onClick={applyUpdate}>
            Update to the new version
          </button>
        )}
      </p>
      <details open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
        <summary>Saved for offline use</summary>
        {offline.status === 'ready' && (
          <Saved report={offline.value} setFiles={setFiles} onRemove={(b) => void uncache(b)} />
        )}
        {offline.status === 'loading' && <p className="hint">Reading the caches…</p>}
        {offline.status === 'error' && (
          <p role="alert" className="error">
            Could not read the caches: {offline.message}
          </p>
        )}
      </details>
    </footer>
  );
}
