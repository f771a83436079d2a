// The terminal progress of npm run eval: one updating line (\r) with done/total, rate, ETA and live
// accuracy on a TTY; without one (CI logs) a plain line every ~5% of the questions.
import type { QuestionResult } from '../src/bench/index';
import { termSafe } from './term-safe';

function clock(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export class Progress {
  private readonly started = performance.now();
  private doneNow = 0;
  private correct = 0;
  private scored = 0;
  private errors = 0;
  private readonly tty = process.stderr.isTTY;
  private readonly every: number;
  private shown = false;

  constructor(
    private readonly total: number,
    private readonly already: number,
  ) {
    this.every = Math.max(1, Math.ceil((total - already) / 20));
  }

  add(r: QuestionResult): void {
    this.doneNow += 1;
    if (r.error) this.errors += 1;
    if (r.official) {
      this.scored += 1;
      this.correct += r.official.reward;
    }
    const remaining = this.total - this.already - this.doneNow;
    if (this.tty || this.doneNow % this.every === 0 || remaining === 0) this.render();
  }

  line(): string {
    const done = this.already + this.doneNow;
    const elapsedS = (performance.now() - this.started) / 1000;
    const perQ = this.doneNow > 0 ? elapsedS / this.doneNow : NaN;
    const eta = perQ * (this.total - done);
    const width = 24;
    const filled = Math.round((width * done) / Math.max(1, this.total));
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const acc =
      this.scored > 0
        ? `acc ${((100 * this.correct) / this.scored).toFixed(1)}% (${this.correct}/${this.scored})`
        : 'acc -';
    const err = this.errors > 0 ? ` · ${this.errors} errors` : '';
    return `${bar} ${done}/${this.total} · ${Number.isFinite(perQ) ? perQ.toFixed(1) : '?'} s/question · ETA ${clock(eta)} · ${acc}${err}`;
  }

  private render(): void {
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${this.line()}`);
      this.shown = true;
    } else process.stderr.write(`${this.line()}\n`);
  }

  /** A message above the bar (the bar is redrawn under it); its control characters escaped. */
  log(message: string): void {
    if (this.tty && this.shown) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${termSafe(message)}\n`);
    if (this.tty && this.shown) this.render();
  }

  finish(): void {
    if (this.tty && this.shown) process.stderr.write('\n');
    this.shown = false;
  }
}
