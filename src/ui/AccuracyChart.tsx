import type { AccuracyCell } from '../bench/index';
import { intervalText, pct, pickInterval, type IntervalKind } from './results-model';
import './results.css';

export interface ChartRow {
  key: string;
  label: string;
  /** Indent level of the label (0 total, 1 level, 2 domain, 3 scenario). */
  depth: number;
  /** One cell per series (undefined: that run has no number for this group). */
  values: (AccuracyCell | undefined)[];
}

const LABEL_W = 200;
const PLOT_W = 400;
const VALUE_W = 130;
const BAR_H = 12;
const GAP = 3;
const ROW_PAD = 8;
const AXIS_H = 22;
const TICKS = [0, 0.25, 0.5, 0.75, 1];

/**
 * Horizontal bar chart of accuracy with 95% interval whiskers, one bar per series (run) and row,
 * drawn as inline SVG. The dashed line is chance (25%, four choices).
 */
export function AccuracyChart({
  rows,
  series,
  interval,
  title,
}: {
  rows: ChartRow[];
  series: string[];
  interval: IntervalKind;
  title: string;
}) {
  const rowH = series.length * (BAR_H + GAP) - GAP + ROW_PAD * 2;
  const legendH = series.length > 1 ? 18 : 0;
  const height = legendH + AXIS_H + rows.length * rowH + 4;
  const width = LABEL_W + PLOT_W + VALUE_W;
  const x = (v: number) => LABEL_W + v * PLOT_W;
  const top = legendH + AXIS_H;
  const ivName = interval === 'wilson' ? 'Wilson' : 'cluster-robust (by video)';
  // Inside a scroller with a floor on its width: scaled down to a phone's width the chart's text
  // would shrink with it (to ~5 px at 420 px); this way it stays legible and the chart scrolls.
  return (
    <div className="chart-scroll">
      <svg
        className="accuracy-chart"
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        style={{ maxWidth: `${width}px` }}
        role="img"
        aria-label={title}
      >
        <title>{`${title}. Whiskers: 95% ${ivName} interval. Dashed line: chance (25%).`}</title>
        {series.length > 1 &&
          series.map((name, s) => (
            <g key={name} transform={`translate(${LABEL_W + s * 210}, 2)`}>
              <rect className={`bar series-${s}`} width={12} height={10} y={1} />
              <text x={16} y={10} className="chart-legend">
                {name.length > 30 ? `${name.slice(0, 29)}…` : name}
              </text>
            </g>
          ))}
        {TICKS.map((t) => (
          <g key={t}>
            <line
              className={t === 0.25 ? 'chart-chance' : 'chart-grid'}
              x1={x(t)}
              x2={x(t)}
              y1={top - 4}
              y2={height - 2}
            />
            <text className="chart-tick" x={x(t)} y={top - 8} textAnchor="middle">
              {`${t * 100}%`}
            </text>
          </g>
        ))}
        {rows.map((row, r) => {
          const y0 = top + r * rowH;
          return (
            <g key={row.key} className="chart-row">
              {r % 2 === 1 && (
                <rect className="chart-stripe" x={0} y={y0} width={width} height={rowH} />
              )}
              <text
                className={row.depth <= 1 ? 'chart-label strong' : 'chart-label'}
                x={4 + row.depth * 10}
                y={y0 + rowH / 2 + 4}
              >
                {row.label.length > 30 - row.depth * 2
                  ? `${row.label.slice(0, 29 - row.depth * 2)}…`
                  : row.label}
              </text>
              {row.values.map((cell, s) => {
                const yb = y0 + ROW_PAD + s * (BAR_H + GAP);
                const cy = yb + BAR_H / 2;
                if (!cell) {
                  return (
                    <text key={s} className="chart-value muted" x={LABEL_W + 4} y={cy + 4}>
                      no result
                    </text>
                  );
                }
                const iv = pickInterval(cell, interval);
                const tip = `${series[s] ?? ''} · ${row.label}: ${pct(cell.accuracy)} (95% ${ivName} ${intervalText(iv)}), ${cell.correct}/${cell.n}`;
                return (
                  <g key={s}>
                    <title>{tip}</title>
                    <rect
                      className={`bar series-${s}`}
                      x={LABEL_W}
                      y={yb}
                      width={Math.max(0, cell.accuracy * PLOT_W)}
                      height={BAR_H}
                    />
                    <line className="whisker" x1={x(iv.low)} x2={x(iv.high)} y1={cy} y2={cy} />
                    <line
                      className="whisker"
                      x1={x(iv.low)}
                      x2={x(iv.low)}
                      y1={cy - 4}
                      y2={cy + 4}
                    />
                    <line
                      className="whisker"
                      x1={x(iv.high)}
                      x2={x(iv.high)}
                      y1={cy - 4}
                      y2={cy + 4}
                    />
                    <text className="chart-value" x={LABEL_W + PLOT_W + 6} y={cy + 4}>
                      {`${pct(cell.accuracy)}  n=${cell.n}`}
                    </text>
                  </g>
                );
              })}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
