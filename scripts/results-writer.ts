// The writes of npm run eval's output folder. Node's ENOSPC / EFBIG message names no file, and a
// failed append used to be noticed only after every remaining question had been computed: here
// the first failed write stops the run, naming the file; what was written stays (a cut-off last
// line is dropped when the run resumes).
import { appendFileSync } from 'node:fs';
import { errorMessage } from '../src/bench/index';

/** A failed write, naming the file. */
export class WriteError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot write ${path}: ${errorMessage(cause)}`, { cause });
    this.name = 'WriteError';
  }
}

/** Runs `write`, turning its failure into a WriteError naming `path`. */
export function writing<T>(path: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    throw e instanceof WriteError ? e : new WriteError(path, e);
  }
}

/** Appends results lines until the first failure, then refuses every write (no gaps). */
export class ResultsWriter {
  private failure: WriteError | null = null;
  private written = 0;

  constructor(
    readonly path: string,
    /** Called once, at the first failure, with what to tell the user (e.g. to cancel the run). */
    private readonly onStop: (message: string) => Promise<unknown>,
  ) {}

  /** Null while every write succeeded, else the run's stop reason. */
  get stopped(): string | null {
    return this.failure ? this.failure.message : null;
  }

  /** Appends one line; false when it (or an earlier write) failed. */
  async append(line: string): Promise<boolean> {
    return this.guard(this.path, () => {
      appendFileSync(this.path, line);
      this.written += 1;
    });
  }

  /** Runs another write of the run (frames); false when it (or an earlier write) failed. */
  async guard(path: string, write: () => unknown): Promise<boolean> {
    if (this.failure) return false;
    try {
      await write();
      return true;
    } catch (e) {
      this.failure = e instanceof WriteError ? e : new WriteError(path, e);
      await this.onStop(
        `${this.failure.message}\nstopped at the first failed write; ${this.written} question${this.written === 1 ? '' : 's'} of this run written to ${this.path} and kept: free space and run the same command again to resume`,
      );
      return false;
    }
  }
}
