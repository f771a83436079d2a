// Exports of a run: official results JSON lines per level (worded as each question's record says
// the model was asked, refused where the record does not match), CSV, summary JSON.
import { useState } from 'react';
import {
  LEVELS,
  toCsv,
  toOfficialJsonl,
  toSummaryJson,
  type QuestionResult,
  type RunSettings,
  type Sample,
} from '../bench/index';
import type { RunRecord } from '../store/index';
import { downloadText, MIME } from './download';
import { safeFileName } from './results-model';
import './runs.css';

/**
 * The settings come from the run's own record (the current run's, or a stored run's): never
 * rebuilt from what the form shows now.
 */
export function ExportBar({
  results,
  record,
  settings,
  samples,
}: {
  results: QuestionResult[];
  record: RunRecord | null;
  settings: RunSettings | null;
  samples: Sample[];
}) {
  const [refused, setRefused] = useState<string[]>([]);
  const stem = safeFileName(
    settings
      ? `${settings.benchmark.id}_${settings.model.label.split('/').pop() ?? ''}_${settings.model.dtype}`
      : (record?.label ?? 'results'),
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
    const out = toOfficialJsonl(ss, results);
    setRefused(out.refused);
    downloadText(`${stem}_${level}.jsonl`, out.jsonl, MIME.jsonl);
  };
  const devices = [...new Set(results.map((r) => ('device' in r ? String(r.device) : null)))];
  // Why a button is off (or leaves questions out), said beside it rather than in a tooltip.
  const notes = [
    ...levels.flatMap((l) =>
      l.missing > 0
        ? [
            `${l.level}: ${l.missing} answered questions are not loaded, so the official file ${l.count === 0 ? 'cannot be written' : `leaves them out (${l.count} written)`}; open the run's benchmark set to export them.`,
          ]
        : [],
    ),
    ...(levels.length === 0
      ? [
          'Official results: no question has a generated answer (the official generation did not run or failed everywhere).',
        ]
      : []),
    ...(settings ? [] : ['Summary: this run was stored without its settings record.']),
  ];
  return (
    <div className="export-bar" data-testid="exports">
      <h3>Export</h3>
      {levels.map((l) => (
        <button
          key={l.level}
          type="button"
          disabled={l.count === 0}
          onClick={() => exportLevel(l.level)}
          title="One line per answered question, as the official Python script writes"
        >
          Official results {l.level} (.jsonl, {l.count})
        </button>
      ))}
      <button type="button" onClick={() => downloadText(`${stem}.csv`, toCsv(results), MIME.csv)}>
        CSV (every question)
      </button>
      <button
        type="button"
        disabled={!settings}
        onClick={() => {
          if (!settings) return;
          const run = {
            settings,
            devices: devices.filter((d): d is string => d !== null),
            selection: { subset: settings.subset },
            startedAt: record?.createdAt ?? null,
            finishedAt: record?.status === 'finished' ? record.updatedAt : null,
          };
          downloadText(`${stem}_summary.json`, toSummaryJson(run, results), MIME.json);
        }}
      >
        Summary (.json)
      </button>
      {notes.length > 0 && (
        <ul className="export-note" data-testid="export-notes">
          {notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      {refused.length > 0 && (
        <p role="alert" className="error" data-testid="export-refused">
          Left out of the official file ({refused.length}): {refused.slice(0, 3).join('; ')}
        </p>
      )}
    </div>
  );
}
