// Run B beside run A: a stored run or an imported official results file, per-question agreement
// and the exact McNemar test.
import { useState } from 'react';
import {
  agreement,
  errorMessage,
  importOfficialRun,
  mcnemarExactP,
  SCORING_MODE_LABELS,
  type ImportedRun,
  type QuestionResult,
  type Sample,
  type ScoringMode,
} from '../bench/index';
import { useAppStore, type RunRecord } from '../store/index';
import { pct } from './results-model';

export interface Comparison {
  label: string;
  results: QuestionResult[];
  /** Set when B came from a file: what the import found. */
  imported: ImportedRun | null;
}

export function ComparePanel({
  a,
  compare,
  setCompare,
  runs,
  samples,
  mode,
  sharedOnly,
  setSharedOnly,
}: {
  a: QuestionResult[];
  compare: Comparison | null;
  setCompare: (c: Comparison | null) => void;
  runs: RunRecord[];
  samples: Sample[];
  mode: ScoringMode;
  sharedOnly: boolean;
  setSharedOnly: (v: boolean) => void;
}) {
  const [message, setMessage] = useState<string | null>(null);
  const [picked, setPicked] = useState('');
  const storedResults = useAppStore((s) => s.storedResults);

  const pickRun = (key: string) => {
    setPicked(key);
    setMessage(null);
    if (key === '') {
      setCompare(null);
      return;
    }
    const rec = runs.find((r) => r.key === key);
    storedResults(key).then(
      (rs) => setCompare({ label: rec?.label ?? key, results: rs, imported: null }),
      (e: unknown) => setMessage(`Cannot load run ${key}: ${errorMessage(e)}`),
    );
  };

  const importFile = async (file: File) => {
    setPicked('');
    setMessage(null);
    try {
      const run = importOfficialRun(file.name, await file.text(), samples);
      if (run.results.length === 0) {
        setMessage(
          `${file.name}: no line matched a loaded question (${run.lines} lines read). Load the benchmark set the file was made from.`,
        );
      }
      setCompare({ label: `file ${file.name}`, results: run.results, imported: run });
    } catch (e) {
      setMessage(`${file.name}: cannot read the file (${errorMessage(e)})`);
    }
  };

  const ag = compare ? agreement(a, compare.results, mode) : null;
  const p = ag ? mcnemarExactP(ag.onlyA, ag.onlyB) : null;
  const imported = compare?.imported ?? null;
  return (
    <div className="compare" data-testid="compare">
      <h3>Compare with another run</h3>
      <div className="compare-controls">
        <select value={picked} onChange={(e) => pickRun(e.target.value)} aria-label="Run B">
          <option value="">{compare?.imported ? 'imported file' : 'no comparison'}</option>
          {runs.map((r) => (
            <option key={r.key} value={r.key}>
              {r.label} — {r.status}
            </option>
          ))}
        </select>
        <label className="file-button">
          Import results file…
          <input
            type="file"
            accept=".jsonl,.json,.txt"
            data-testid="import-results"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void importFile(f);
              e.target.value = '';
            }}
          />
        </label>
        {compare && (
          <button type="button" onClick={() => pickRun('')}>
            Clear
          </button>
        )}
        <label>
          <input
            type="checkbox"
            checked={sharedOnly}
            onChange={(e) => setSharedOnly(e.target.checked)}
          />{' '}
          accuracies on shared questions only
        </label>
      </div>
      <p className="hint">
        An official results file (JSON lines with sample_id and response, as the Python script
        writes) is scored here with the official rule against the loaded questions.
      </p>
      {message && (
        <p role="alert" className="error">
          {message}
        </p>
      )}
      {imported && <ImportReport run={imported} />}
      {ag && compare && (
        <table className="results-table agreement" data-testid="agreement">
          <caption>
            Per question, {SCORING_MODE_LABELS[mode]}: A = this run, B = {compare.label}
          </caption>
          <tbody>
            <tr>
              <th scope="row">Questions both answered</th>
              <td className="num">{ag.both}</td>
              <td />
            </tr>
            {(
              [
                ['Both right', ag.bothRight],
                ['Only A right', ag.onlyA],
                ['Only B right', ag.onlyB],
                ['Both wrong', ag.bothWrong],
                ['Same letter (or both none)', ag.sameLetter],
              ] as const
            ).map(([label, n]) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                <td className="num">{n}</td>
                <td className="num muted">{ag.both ? pct(n / ag.both) : ''}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">Exact McNemar p (only A vs only B)</th>
              <td className="num">
                {p === null ? '—' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4)}
              </td>
              <td />
            </tr>
          </tbody>
        </table>
      )}
    </div>
  );
}

function ImportReport({ run }: { run: ImportedRun }) {
  return (
    <div className="import-report" data-testid="import-report">
      <p>
        {run.label}: {run.lines} lines, {run.results.length} scored against loaded questions
        {run.rewardMismatches.length > 0
          ? `; ${run.rewardMismatches.length} lines’ reward in the file differs from the official rule here`
          : '; every reward in the file agrees with the official rule here'}
        .
      </p>
      {(run.messages.length > 0 || run.rewardMismatches.length > 0) && (
        <details>
          <summary>Details</summary>
          <ul>
            {run.messages.slice(0, 30).map((m) => (
              <li key={m}>{m}</li>
            ))}
            {run.rewardMismatches.slice(0, 30).map((m) => (
              <li key={`r${m.line}`}>
                {run.label}:{m.line}: sample {m.sampleId} reward {m.file} in the file, {m.here} here
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
