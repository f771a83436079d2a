// The listing of a served folder (the CLI's --videos, the dev server's demo clips).
import { readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../src/bench/index';

/** An entry of a served folder that could not be listed (a dangling link, a link loop, no access). */
export interface SkippedEntry {
  path: string;
  reason: string;
}

/**
 * Every file under `dir`, relative, '/'-separated (dot entries skipped). Symbolic links are
 * followed (datasets often link their clips); a dangling one, a loop or an unreadable entry is
 * reported to `onSkip` and left out, so one bad entry never stops a run.
 */
export function listFiles(dir: string, onSkip?: (s: SkippedEntry) => void): string[] {
  const out: string[] = [];
  const walk = (abs: string, prefix: string, ancestors: Set<string>) => {
    let names: string[];
    try {
      names = readdirSync(abs).sort();
    } catch (e) {
      onSkip?.({ path: abs, reason: `cannot list (${errnoCode(e) ?? errorMessage(e)})` });
      return;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = join(abs, name);
      let st: Stats;
      try {
        st = statSync(p);
      } catch (e) {
        onSkip?.({ path: p, reason: entryProblem(p, e) });
        continue;
      }
      if (!st.isDirectory()) {
        out.push(`${prefix}${name}`);
        continue;
      }
      const real = realpathSync(p);
      if (ancestors.has(real)) {
        onSkip?.({ path: p, reason: `symbolic link loop (leads back to ${real})` });
        continue;
      }
      walk(p, `${prefix}${name}/`, new Set([...ancestors, real]));
    }
  };
  walk(dir, '', new Set([realpathSync(dir)]));
  return out;
}

/** A Node file system error's code (ENOENT, ELOOP, ...), if it is one. */
function errnoCode(e: unknown): string | undefined {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function entryProblem(path: string, e: unknown): string {
  const code = errnoCode(e);
  let target = '';
  try {
    target = ` -> ${readlinkSync(path)}`;
  } catch {
    // not a link
  }
  if (code === 'ENOENT' && target) return `dangling symbolic link${target}`;
  if (code === 'ELOOP') return `symbolic link loop${target}`;
  return `cannot read (${code ?? errorMessage(e)})`;
}
