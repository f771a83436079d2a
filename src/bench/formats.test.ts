import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatRecordError, parseBenchmarkFile } from './index';

const SHARED = new URL('../../../shared/seedbench/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, SHARED), 'utf8');

describe('EgoPlan-Bench validation json', () => {
  const parsed = parseBenchmarkFile('EgoPlan_validation.json', read('EgoPlan_validation.json'));

  it('reads every record as L1 (EpicKitchens) or L2 (Ego4D)', () => {
    expect(parsed.format).toBe('egoplan-json');
    expect(parsed.errors).toEqual([]);
    expect(parsed.samples.filter((s) => s.level === 'L1')).toHaveLength(2432);
    expect(parsed.samples.filter((s) => s.level === 'L2')).toHaveLength(923);
  });

  it('accepts the `narration` spelling some segments of record 60 use', () => {
    const s = parsed.samples.find((x) => x.sampleId === '60');
    expect(s?.progress[2]?.narrationText).toBe('scoop yoghurt');
  });

  it('marks questions without progress as still-only', () => {
    const l1NoClip = parsed.samples.filter((s) => s.level === 'L1' && !s.hasClip);
    const l2NoClip = parsed.samples.filter((s) => s.level === 'L2' && !s.hasClip);
    expect(l1NoClip).toHaveLength(371);
    expect(l2NoClip).toHaveLength(128);
    expect(l1NoClip[0]?.clipPaths).toBeNull();
  });

  it('keeps sample 115 as in the file', () => {
    const s = parsed.samples.find((x) => x.sampleId === '115');
    expect(s).toMatchObject({
      rawSampleId: 115,
      gold: 'A',
      answer: 'put cereal box into cupboard',
      videoId: 'P01_13',
      hasClip: true,
      origin: { file: 'EgoPlan_validation.json', index: 115 },
    });
    expect(s?.progress).toHaveLength(5);
  });
});

describe('EgoPlan-Bench2 examples jsonl', () => {
  it('reads the 12 examples as L3 with domains and clips, the last frame as still', () => {
    const parsed = parseBenchmarkFile(
      'examples.jsonl',
      read('egoplan-bench2-examples/examples.jsonl'),
    );
    expect(parsed.format).toBe('egoplan-bench2-examples-jsonl');
    expect(parsed.errors).toEqual([]);
    expect(parsed.samples).toHaveLength(12);
    for (const s of parsed.samples) {
      expect(s.level).toBe('L3');
      expect(s.hasClip).toBe(true);
      expect(s.stillPath).toBeNull();
      expect(s.domain).toMatch(/^(Daily life|Hobbies|Recreation|Work)$/);
      expect(s.clipPaths?.[0]).toMatch(/^videos\/Ego4D\/.+_QA-\d+\.mp4$/);
    }
  });
});

const seedLine = (id: number | string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    sample_id: id,
    question:
      'Considering the progress shown in the video and my current observation shown in the image, what action should I take next in order to x?',
    choice_a: 'a',
    choice_b: 'b',
    choice_c: 'c',
    choice_d: 'd',
    golden_choice_idx: 'B',
    answer: 'b',
    task_progress_metadata: [{ narration_text: 'n', start_frame: 1, stop_frame: 2 }],
    video_source: 'Ego4D',
    video_basename: `${id}.mp4`,
    current_observation_basename: `${id}.png`,
    ...extra,
  });

describe('SEED-Bench-R1 jsonl', () => {
  it('takes the level from the file name and the paths from the basenames', () => {
    const parsed = parseBenchmarkFile('validation_L2.jsonl', `${seedLine(7)}\n${seedLine(8)}\n`);
    expect(parsed.format).toBe('seed-bench-r1-jsonl');
    expect(parsed.samples.map((s) => s.level)).toEqual(['L2', 'L2']);
    expect(parsed.samples[0]?.clipPaths).toEqual(['videos/Ego4D/7.mp4']);
    expect(parsed.samples[0]?.stillPath).toBe('images/Ego4D/7.png');
  });

  it('reports a malformed line with its number and loads the rest', () => {
    const text = [
      seedLine(1),
      '{"sample_id": 2, "question": ', // truncated JSON
      seedLine(3, { golden_choice_idx: 'E' }), // bad field
      seedLine(4, { answer: 'not the gold text' }),
      '',
      seedLine(5),
    ].join('\n');
    const parsed = parseBenchmarkFile('validation_L1.jsonl', text);
    expect(parsed.samples.map((s) => s.sampleId)).toEqual(['1', '5']);
    expect(parsed.total).toBe(5);
    expect(parsed.errors.map((e) => [e.line, e.field])).toEqual([
      [2, '(line)'],
      [3, 'golden_choice_idx'],
      [4, 'answer'],
    ]);
    expect(formatRecordError(parsed.errors[1]!)).toMatch(
      /^validation_L1\.jsonl:3 golden_choice_idx: /,
    );
  });

  it('rejects a file of an unknown format with a message naming it', () => {
    expect(() => parseBenchmarkFile('x.jsonl', '{"foo": 1}\n')).toThrow(/x\.jsonl: not a known/);
    expect(() => parseBenchmarkFile('y.json', '[1, 2')).toThrow(/y\.json: not valid JSON/);
  });
});

describe('EgoPlan-Bench2 json', () => {
  it('builds the question from task_goal and infers the clip name', () => {
    const rec = {
      sample_id: 'abc_3',
      task_goal: 'make tea',
      choice_a: 'a',
      choice_b: 'b',
      choice_c: 'c',
      choice_d: 'd',
      golden_choice_idx: 'C',
      answer: 'c',
      domain: 'Work',
      scenario: 'office',
      task_start_frame: 0,
      current_observation_frame: 90,
    };
    const parsed = parseBenchmarkFile('EgoPlan-Bench2.json', JSON.stringify([rec]));
    expect(parsed.format).toBe('egoplan-bench2-json');
    const s = parsed.samples[0]!;
    expect(s.level).toBe('L3');
    expect(s.question).toBe(
      'Considering the progress shown in the video and my current observation in the last frame, what action should I take next in order to make tea?',
    );
    expect(s.clipPaths).toEqual(['videos/Ego4D/abc_QA-3.mp4', 'videos/Ego4D/abc_3.mp4']);
    expect(s.stillPath).toBeNull();
  });
});

describe('invalid UTF-8 (bytes given)', () => {
  const utf8 = (s: string) => new TextEncoder().encode(s);
  const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

  it('names the JSON-lines line, leaves it out and loads the rest', () => {
    const bad = utf8(seedLine(2, { choice_a: 'caf__' }));
    const at = bad.indexOf(0x5f); // the first "_": a lone continuation byte, then a cut sequence
    bad[at] = 0xff;
    bad[at + 1] = 0xc3;
    const bytes = join(
      utf8(`${seedLine(1)}\n`),
      bad,
      utf8(`\n${seedLine(3, { choice_c: 'é\uFFFD' })}\n`),
    );
    const parsed = parseBenchmarkFile('validation_L1.jsonl', bytes);
    expect(parsed.samples.map((s) => s.sampleId)).toEqual(['1', '3']);
    expect(parsed.samples[1]?.choices[2]).toBe('é\uFFFD'); // a real U+FFFD is text like any other
    expect(parsed.total).toBe(3);
    expect(parsed.errors.map(formatRecordError)).toEqual([
      `validation_L1.jsonl:2 (line): invalid UTF-8 (byte 0xff at byte ${at} of line 2)`,
    ]);
  });

  it('in a JSON array, leaves out the record holding it and names the line', () => {
    const records = [1, 2, 3].map((id) => JSON.parse(seedLine(id)) as Record<string, unknown>);
    const text = JSON.stringify(records, null, 1).replace('"a"', '"a\u0001"');
    const bytes = utf8(text);
    bytes[bytes.indexOf(0x01)] = 0xfe;
    const line = text.slice(0, text.indexOf('\u0001')).split('\n').length;
    const parsed = parseBenchmarkFile('EgoPlan_validation.json', bytes);
    expect(parsed.samples.map((s) => s.sampleId)).toEqual(['2', '3']);
    expect(parsed.errors).toEqual([
      {
        file: 'EgoPlan_validation.json',
        index: 0,
        field: '(record)',
        message: `invalid UTF-8 (byte 0xfe at byte ${text.split('\n')[line - 1]!.indexOf('\u0001')} of line ${line})`,
      },
    ]);
  });

  it('reads valid bytes exactly as the text, and rejects a lone surrogate escape', () => {
    const text = `\uFEFF${seedLine(1, { choice_a: 'naïve 🎬' })}\n${seedLine(2)}\n`;
    expect(parseBenchmarkFile('validation_L1.jsonl', utf8(text))).toEqual(
      parseBenchmarkFile('validation_L1.jsonl', text),
    );
    const escaped = parseBenchmarkFile('validation_L1.jsonl', seedLine(1, { choice_a: '\ud800' }));
    expect(escaped.samples).toHaveLength(0);
    expect(escaped.errors[0]?.message).toMatch(/lone surrogate/);
  });
});
