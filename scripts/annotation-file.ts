// An annotation file given to npm run eval: read as bytes (invalid UTF-8 is reported by line),
// every bad record named as the parser names it ("file:2 choice_a: expected string"), and a file
// without one valid record refused with the reasons.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  decodeAnnotation,
  formatRecordError,
  parseBenchmarkFile,
  type Sample,
} from '../src/bench/index';
import { termSafe } from './term-safe';

/** Reasons printed at most; the count of the rest follows. */
const SHOWN = 50;

export interface AnnotationFile {
  name: string;
  /** The text the page parses again (decoded as here, so both sides read the same records). */
  text: string;
  samples: Sample[];
}

export function readAnnotationFile(
  path: string,
  log: (message: string) => void = (m) => console.error(m),
): AnnotationFile {
  const bytes = readFileSync(path);
  const name = basename(path);
  const parsed = parseBenchmarkFile(name, bytes);
  const reasons = parsed.errors.map((e) => `  ${termSafe(formatRecordError(e), true)}`);
  if (reasons.length > SHOWN)
    reasons.splice(SHOWN, Infinity, `  … and ${reasons.length - SHOWN} more`);
  if (parsed.samples.length === 0) {
    throw new Error(
      [`${termSafe(name, true)}: none of its ${parsed.total} records is valid:`, ...reasons].join(
        '\n',
      ),
    );
  }
  if (parsed.errors.length > 0) {
    log(
      [
        `${termSafe(name, true)}: ${parsed.errors.length} of ${parsed.total} records skipped (invalid):`,
        ...reasons,
      ].join('\n'),
    );
  }
  return { name, text: decodeAnnotation(bytes).text, samples: parsed.samples };
}
