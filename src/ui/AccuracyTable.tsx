// The accuracy table (per level, L3 domain and scenario, with both intervals) and the
// every-mode overview.
import { intervalText, pct, type IntervalKind } from './results-model';
import { SCORING_MODE_LABELS, type GroupRow, type ScoringMode, type Summary } from '../bench/index';

export function AccuracyTable({
  rows,
  mode,
  compared,
  interval,
}: {
  rows: GroupRow[];
  mode: ScoringMode;
  compared: boolean;
  interval: IntervalKind;
}) {
  const other: IntervalKind = interval === 'wilson' ? 'cluster' : 'wilson';
  const ivHead = (k: IntervalKind) => (k === 'wilson' ? '95% Wilson' : '95% cluster');
  return (
    <table className="results-table" data-testid="accuracy-table">
      <thead>
        <tr>
          <th scope="col">Group</th>
          <th scope="col">Scored</th>
          <th scope="col">Correct</th>
          <th scope="col">Accuracy{compared ? ' A' : ''}</th>
          <th scope="col">{ivHead(interval)}</th>
          <th scope="col">{ivHead(other)}</th>
          {compared && (
            <>
              <th scope="col">Accuracy B</th>
              <th scope="col">{ivHead(interval)} B</th>
              <th scope="col">B − A</th>
            </>
          )}
          <th scope="col">Errors</th>
          <th scope="col">Unparseable</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <GroupTableRow key={r.key} row={r} mode={mode} compared={compared} interval={interval} />
        ))}
      </tbody>
    </table>
  );
}

function GroupTableRow({
  row,
  mode,
  compared,
  interval,
}: {
  row: GroupRow;
  mode: ScoringMode;
  compared: boolean;
  interval: IntervalKind;
}) {
  const ca = row.a?.byMode[mode];
  const cb = row.b?.byMode[mode];
  const iv = (c: typeof ca, k: IntervalKind) =>
    c ? intervalText(k === 'wilson' ? c.wilson : c.cluster) : '—';
  const clusterNote = (c: typeof ca) => (c ? ` (${c.clusters} videos)` : '');
  return (
    <tr className={`depth-${row.depth}`} data-group={row.key}>
      <th scope="row">{row.label}</th>
      <td>{ca?.n ?? '—'}</td>
      <td>{ca?.correct ?? '—'}</td>
      <td className="num strong">{ca ? pct(ca.accuracy) : '—'}</td>
      <td className="num">{iv(ca, interval)}</td>
      <td className="num muted">
        {iv(ca, interval === 'wilson' ? 'cluster' : 'wilson')}
        {interval === 'wilson' ? clusterNote(ca) : ''}
      </td>
      {compared && (
        <>
          <td className="num strong">{cb ? `${pct(cb.accuracy)} (n ${cb.n})` : '—'}</td>
          <td className="num">{iv(cb, interval)}</td>
          <td className="num">
            {ca && cb
              ? `${cb.accuracy >= ca.accuracy ? '+' : ''}${pct(cb.accuracy - ca.accuracy)}`
              : '—'}
          </td>
        </>
      )}
      <td>{row.a?.errors ?? '—'}</td>
      <td>{row.a ? row.a.unparseable : '—'}</td>
    </tr>
  );
}

const MODE_SHORT: Record<ScoringMode, string> = {
  official: 'Official',
  lenient: 'Lenient',
  letters: 'Letter log-probs',
  likelihood: 'Likelihood',
};

/** Every scoring mode of run A side by side, per level and L3 domain. */
export function ModesOverview({ summary, modes }: { summary: Summary; modes: ScoringMode[] }) {
  const groups = [summary.total, ...summary.levels, ...summary.domains];
  return (
    <table className="results-table" data-testid="modes-table">
      <caption>Every scoring mode (only Official is the benchmark’s number)</caption>
      <thead>
        <tr>
          <th scope="col">Group</th>
          {modes.map((m) => (
            <th key={m} scope="col" title={SCORING_MODE_LABELS[m]}>
              {MODE_SHORT[m]}
              {m === 'official' ? '' : ' (not official)'}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {groups.map((g) => (
          <tr key={g.key}>
            <th scope="row">{g.key === 'all' ? 'All questions' : g.key.replace(' / ', ' · ')}</th>
            {modes.map((m) => {
              const c = g.byMode[m];
              return (
                <td key={m} className="num">
                  {c ? `${pct(c.accuracy)} (n ${c.n})` : '—'}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
