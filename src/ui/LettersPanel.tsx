// Predicted-letter distribution beside the gold letters, and the outputs' error digest.
import {
  CHOICE_LETTERS,
  errorDigest,
  goldDistribution,
  letterDistribution,
  LEVELS,
  SCORING_MODE_LABELS,
  type QuestionResult,
  type ScoringMode,
  type Summary,
} from '../bench/index';
import { pct } from './results-model';

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
              <th scope="col">
                <span className="visually-hidden">Group</span>
              </th>
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
