/**
 * npx tsx scripts/compare-runs.ts OUT_A OUT_B
 *
 * Two `npm run eval` output folders question by question: how many responses are byte-identical,
 * the largest difference of the A-D log-probs and choice NLLs where both have them, and the first
 * differing questions. Exits 1 unless every response is identical.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Line {
  sample_id: string | number;
  response: string;
  prompt: unknown;
  letter_logprobs?: number[] | null;
  choice_nll?: number[] | null;
}

function read(dir: string): Map<string, Line> {
  const lines = readFileSync(join(dir, 'results.jsonl'), 'utf8').split('\n').filter(Boolean);
  return new Map(lines.map((l) => JSON.parse(l) as Line).map((r) => [String(r.sample_id), r]));
}

const [dirA, dirB] = process.argv.slice(2);
if (!dirA || !dirB) {
  console.error('usage: tsx scripts/compare-runs.ts OUT_A OUT_B');
  process.exit(2);
}
const a = read(dirA);
const b = read(dirB);
let same = 0;
let promptsSame = 0;
let letters = 0;
let nll = 0;
const differ: string[] = [];
const maxDiff = (x?: number[] | null, y?: number[] | null) =>
  x && y ? Math.max(...x.map((v, i) => Math.abs(v - (y[i] ?? NaN)))) : 0;
for (const [id, ra] of a) {
  const rb = b.get(id);
  if (!rb) {
    differ.push(`${id}: missing in ${dirB}`);
    continue;
  }
  if (ra.response === rb.response) same++;
  else
    differ.push(
      `${id}: ${JSON.stringify(ra.response.slice(0, 40))} vs ${JSON.stringify(rb.response.slice(0, 40))}`,
    );
  if (JSON.stringify(ra.prompt) === JSON.stringify(rb.prompt)) promptsSame++;
  letters = Math.max(letters, maxDiff(ra.letter_logprobs, rb.letter_logprobs));
  nll = Math.max(nll, maxDiff(ra.choice_nll, rb.choice_nll));
}
console.log(
  `${same} of ${a.size} responses byte-identical (prompts identical: ${promptsSame}); ` +
    `max |diff| A-D log-probs ${letters.toExponential(2)}, choice NLL ${nll.toExponential(2)}`,
);
for (const d of differ.slice(0, 5)) console.log(`  differs: ${d}`);
process.exit(same === a.size && a.size === b.size ? 0 : 1);
