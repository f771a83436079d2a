// The Results view's lower panels: letter distribution and errors, run comparison (past run or
// imported official results file), and exports.
import { useState } from 'react';
import {
  agreement,
  CHOICE_LETTERS,
  LEVELS,
  SCORING_MODE_LABELS,
  toCsv,
  toOfficialJsonl,
  toSummaryJson,
  type QuestionResult,
  type QuestionWording,
  type Sample,
  type ScoringMode,
  type Summary,
} from '../bench/index';
import { loadResults, useAppStore, type RunRecord } from '../store/index';
import { downloadText, MIME } from './download';
import {
  errorDigest,
  goldDistribution,
  importOfficialRun,
  letterDistribution,
  mcnemarExactP,
  pct,
  runLabel,
  safeFileName,
  type ImportedRun,
} from './results-model';

export interface Comparison {
  label: string;
  results: QuestionResult[];
  /** Set when B came from a file: what the import found. */
  imported: ImportedRun | null;
}

const LETTER_COLUMNS = [...CHOICE_LETTERS, 'none'] as const;

export function LettersPanel({
  results,
  summary,
  mode,
}: {
  results: QuestionResult[];
  summary: Summary;
  mode: ScoringMode;
}) {
  const groups = [
    { label: 'All', rs: results },
    ...LEVELS.map((l) => ({ label: l, rs: results.filter((r) => r.level === l) })).filter(
      (g) => g.rs.length > 0,
    ),
  ];
  const gold = goldDistribution(results);
  const errors = errorDigest(results);
  return (
    <div className="results-grid">
      <div>
        <h3>Predicted letters ({SCORING_MODE_LABELS[mode]})</h3>
        <table className="results-table letters" data-testid="letters-table">
          <thead>
            <tr>
              <th scope="col" />
              {LETTER_COLUMNS.map((l) => (
                <th key={l} scope="col">
                  {l === 'none' ? 'no letter' : l}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => {
              const d = letterDistribution(g.rs, mode);
              return (
                <tr key={g.label}>
                  <th scope="row">{g.label}</th>
                  {LETTER_COLUMNS.map((l) => (
                    <td key={l} className="num">
                      <span
                        className="letter-bar"
                        style={{ width: share(d.counts[l], d.scored) }}
                      />
                      {d.counts[l]}{' '}
                      <span className="muted">
                        {d.scored ? pct(d.counts[l] / d.scored, 0) : ''}
                      </span>
                    </td>
                  ))}
                </tr>
              );
            })}
            <tr className="gold-row">
              <th scope="row">Gold</th>
              {LETTER_COLUMNS.map((l) => (
                <td key={l} className="num">
                  {l === 'none' ? '' : (gold[l] ?? 0)}
                </td>
              ))}
            </tr>
          </tbody>
        </table>
      </div>
      <div>
        <h3>Outputs</h3>
        <dl className="meta-grid" data-testid="output-counts">
          <dt>Unparseable (official rule found no letter)</dt>
          <dd>{summary.total.unparseable}</dd>
          <dt>… of which the lenient extractor read a letter</dt>
          <dd>{summary.total.lenientNeeded}</dd>
          <dt>Errors (question not answered)</dt>
          <dd>{summary.total.errors}</dd>
        </dl>
        {errors.length > 0 && (
          <ul className="error-digest">
            {errors.map((e) => (
              <li key={`${e.stage}:${e.message}`}>
                <strong>{e.count}×</strong> {e.stage}: {e.message}{' '}
                <span className="muted">(e.g. {e.example})</span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

function share(count: number, total: number): string {
  return total > 0 ? `${((count / total) * 3).toFixed(2)}em` : '0';
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

  const pickRun = (key: string) => {
    setPicked(key);
    setMessage(null);
    if (key === '') {
      setCompare(null);
      return;
    }
    const rec = runs.find((r) => r.key === key);
    loadResults(key).then(
      (rs) =>
        setCompare({ label: rec ? runLabel(rec.settings) : key, results: rs, imported: null }),
      (e: unknown) => setMessage(`Cannot load run ${key}: ${(e as Error).message}`),
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
      setMessage(`${file.name}: cannot read the file (${(e as Error).message})`);
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
              {runLabel(r.settings)} — {r.status}
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

export function ExportBar({
  results,
  record,
  samples,
}: {
  results: QuestionResult[];
  record: RunRecord | null;
  samples: Sample[];
}) {
  const modelLabel = useAppStore((s) => s.modelLabel);
  const modelInfo = useAppStore((s) => s.modelInfo);
  const setId = useAppStore((s) => s.setId);
  const runConfig = useAppStore((s) => s.runConfig);
  const settings = record?.settings ?? {
    model: modelLabel ?? 'unknown model',
    dtype: modelInfo?.dtype ?? 'unknown',
    scoring: runConfig.scoring,
    wording: runConfig.wording,
    maxNewTokens: runConfig.maxNewTokens,
    benchmark: setId ?? 'unknown set',
  };
  const wording: QuestionWording = settings.wording;
  const stem = safeFileName(
    `${settings.benchmark}_${settings.model.split('/').pop() ?? ''}_${settings.dtype}`,
  );
  const answered = new Set(
    results.filter((r) => r.response !== null).map((r) => `${r.level}:${r.sampleId}`),
  );
  const sampleKeys = new Set(samples.map((s) => `${s.level}:${s.sampleId}`));
  const levels = LEVELS.map((level) => ({
    level,
    count: [...answered].filter((k) => k.startsWith(`${level}:`) && sampleKeys.has(k)).length,
    missing: [...answered].filter((k) => k.startsWith(`${level}:`) && !sampleKeys.has(k)).length,
  })).filter((l) => l.count + l.missing > 0);

  const exportLevel = (level: string) => {
    const ss = samples.filter((s) => s.level === level);
    downloadText(`${stem}_${level}.jsonl`, toOfficialJsonl(ss, results, wording), MIME.jsonl);
  };
  return (
    <div className="export-bar" data-testid="exports">
      <h3>Export</h3>
      {levels.map((l) => (
        <button
          key={l.level}
          type="button"
          disabled={l.count === 0}
          onClick={() => exportLevel(l.level)}
          title={
            l.missing > 0
              ? `${l.missing} answered questions are not loaded (load their benchmark set to export them)`
              : 'One line per answered question, as the official Python script writes'
          }
        >
          Official results {l.level} (.jsonl, {l.count})
        </button>
      ))}
      <button type="button" onClick={() => downloadText(`${stem}.csv`, toCsv(results), MIME.csv)}>
        CSV (every question)
      </button>
      <button
        type="button"
        onClick={() =>
          downloadText(
            `${stem}_summary.json`,
            toSummaryJson(
              {
                model: settings.model,
                dtype: settings.dtype,
                device: record?.device ?? modelInfo?.device ?? 'unknown',
                benchmark: settings.benchmark,
                settings: {
                  ...settings,
                  ...(record ? { subset: record.subset, runKey: record.key } : {}),
                },
                ...(record ? { startedAt: record.createdAt } : {}),
                ...(record?.status === 'finished' ? { finishedAt: record.updatedAt } : {}),
              },
              results,
            ),
            MIME.json,
          )
        }
      >
        Summary (.json)
      </button>
    </div>
  );
}
