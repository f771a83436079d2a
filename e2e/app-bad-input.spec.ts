import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from '@playwright/test';

// The app's annotation file picker on bad input (issue 14): the file's bytes are read, so invalid
// UTF-8 is reported with its line (it used to become U+FFFD silently), and bad records are named.

const EXAMPLES = resolve(import.meta.dirname, '../../shared/seedbench/egoplan-bench2-examples');

test('an annotation file with invalid UTF-8 and a bad record: both named by line, the rest loads', async ({
  page,
}) => {
  const lines = readFileSync(resolve(EXAMPLES, 'examples.jsonl'))
    .toString('utf8')
    .trim()
    .split('\n');
  const records = lines.slice(0, 4).map((l) => JSON.parse(l) as Record<string, unknown>);
  const bad = Buffer.from(JSON.stringify({ ...records[1], question: 'pro#gress?' }));
  const at = bad.indexOf('#');
  bad[at] = 0xff;
  const file = Buffer.concat([
    Buffer.from(`${JSON.stringify(records[0])}\n`),
    bad,
    Buffer.from(
      `\n${JSON.stringify({ ...records[2], choice_a: 5 })}\n${JSON.stringify(records[3])}\n`,
    ),
  ]);
  await page.goto('/?view=run');
  const bench = page.getByRole('group', { name: 'Benchmark' });
  await bench.getByLabel('Annotation file').setInputFiles({
    name: 'bad.jsonl',
    mimeType: 'application/x-ndjson',
    buffer: file,
  });
  const report = bench.getByRole('list', { name: 'Annotation file report' }).getByRole('listitem');
  await expect(report).toHaveCount(3);
  await expect(report.nth(0)).toHaveText(
    'bad.jsonl: 2 of 4 questions read as egoplan-bench2-examples-jsonl, 2 skipped:',
  );
  await expect(report.nth(1)).toHaveText(
    `bad.jsonl:2 (line): invalid UTF-8 (byte 0xff at byte ${at} of line 2)`,
  );
  await expect(report.nth(2)).toContainText('bad.jsonl:3 choice_a: ');
});
