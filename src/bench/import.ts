import { z } from 'zod';
import { describeIssue } from './records';
import { resultFrom, type QuestionResult } from './results';
import type { Sample } from './types';

/** One line of an official results file, as far as a comparison needs it. */
export interface ImportedOfficialLine {
  sampleId: string;
  rawSampleId: number | string;
  response: string;
  reward: number;
  line: number;
}

// The official script writes sample_id, prompt, problem, solution, response, reward; only the id
// and the response are needed (the reward is checked against the rule here).
const officialLine = z.object({
  sample_id: z.union([z.number().int(), z.string().min(1)]),
  response: z.string(),
  reward: z.union([z.number(), z.string()]).optional(),
});

/**
 * Reads an official results file (written by the Python script or exported here). Bad lines are
 * reported as "file:line field: message" and skipped.
 */
export function parseOfficialResults(
  file: string,
  text: string,
): { lines: ImportedOfficialLine[]; errors: string[] } {
  const lines: ImportedOfficialLine[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      errors.push(
        `${file}:${i + 1}: not valid JSON (${e instanceof Error ? e.message : 'parse error'})`,
      );
      return;
    }
    const parsed = officialLine.safeParse(value);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error);
      errors.push(`${file}:${i + 1} ${field}: ${message}`);
      return;
    }
    const v = parsed.data;
    lines.push({
      sampleId: String(v.sample_id),
      rawSampleId: v.sample_id,
      response: v.response,
      reward: Number(v.reward ?? 0),
      line: i + 1,
    });
  });
  return { lines, errors };
}

export interface ImportedRun {
  label: string;
  results: QuestionResult[];
  /** Lines read, matched or not. */
  lines: number;
  /** Problems by file and line: unreadable lines, unknown or repeated sample ids. */
  messages: string[];
  /** Lines whose `reward` in the file differs from the official rule applied here. */
  rewardMismatches: { sampleId: string; line: number; file: number; here: number }[];
}

/**
 * Reads an official results file (the Python script's, or one exported here) and scores every line
 * with the official rule against the matching question of `samples`, so it can be compared with a
 * run of this app. Never throws: bad lines become messages naming the file and line.
 */
export function importOfficialRun(
  fileName: string,
  text: string,
  samples: readonly Sample[],
): ImportedRun {
  const byId = new Map<string, Sample[]>();
  for (const s of samples) {
    const list = byId.get(s.sampleId);
    if (list) list.push(s);
    else byId.set(s.sampleId, [s]);
  }
  const { lines, errors } = parseOfficialResults(fileName, text);
  const messages = [...errors];
  const results: QuestionResult[] = [];
  const rewardMismatches: ImportedRun['rewardMismatches'] = [];
  const taken = new Map<string, number>();
  let unknown = 0;
  for (const line of lines) {
    const matches = byId.get(line.sampleId) ?? [];
    const sample = matches[0];
    if (!sample) {
      unknown += 1;
      if (unknown <= 20) {
        messages.push(
          `${fileName}:${line.line}: sample_id ${line.sampleId} is not among the questions loaded`,
        );
      }
      continue;
    }
    if (matches.length > 1) {
      messages.push(
        `${fileName}:${line.line}: sample_id ${line.sampleId} is ambiguous (${matches.map((m) => m.level).join(', ')}); skipped`,
      );
      continue;
    }
    const first = taken.get(line.sampleId);
    if (first !== undefined) {
      messages.push(
        `${fileName}:${line.line}: sample_id ${line.sampleId} repeats line ${first}; kept the first`,
      );
      continue;
    }
    taken.set(line.sampleId, line.line);
    const r = resultFrom(sample, { response: line.response });
    results.push(r);
    const here = r.official?.reward ?? 0;
    if (Number.isFinite(line.reward) && line.reward !== here) {
      rewardMismatches.push({ sampleId: line.sampleId, line: line.line, file: line.reward, here });
    }
  }
  if (unknown > 20) messages.push(`${fileName}: ${unknown - 20} more lines with unknown sample_id`);
  return {
    label: fileName,
    results,
    lines: lines.length + errors.length,
    messages,
    rewardMismatches,
  };
}
