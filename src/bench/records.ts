import { z } from 'zod';

/**
 * Schemas of the raw annotation records, one per format (protocol section 1). Validation names the
 * first failing field so a bad line can be reported precisely while the rest of the file loads.
 */

const letter = z.enum(['A', 'B', 'C', 'D']);
const text = z.string();

// EgoPlan_validation.json record 60 names some segments' text `narration`: the official pipeline
// only checks that the list is non-empty, so either spelling is accepted.
const progressSegment = z.object({
  narration_text: z.string().optional(),
  narration: z.string().optional(),
  start_frame: z.number().int(),
  stop_frame: z.number().int(),
});

const choices = {
  choice_a: text,
  choice_b: text,
  choice_c: text,
  choice_d: text,
  golden_choice_idx: letter,
  answer: text,
};

/** SEED-Bench-R1 annotations/validation_L*.jsonl. */
export const seedBenchR1Record = z.object({
  sample_id: z.union([z.number().int(), z.string().min(1)]),
  question: text,
  ...choices,
  task_progress_metadata: z.array(progressSegment),
  video_source: z.enum(['EpicKitchens', 'Ego4D']),
  video_basename: z.string(),
  current_observation_basename: z.string().min(1),
  video_id: z.string().optional(),
  task_goal: z.string().optional(),
  domain: z.string().optional(),
  scenario: z.string().optional(),
});

/** EgoPlan-Bench EgoPlan_validation.json (one array). */
export const egoPlanRecord = z.object({
  sample_id: z.number().int(),
  question: text,
  ...choices,
  task_progress_metadata: z.array(progressSegment),
  video_source: z.enum(['EpicKitchens', 'Ego4D']),
  video_id: z.string(),
  task_goal: z.string(),
  current_observation_frame: z.number().int().optional(),
});

/** EgoPlan-Bench2 EgoPlan-Bench2.json: no question (built from task_goal), clip ends at the observation. */
export const egoPlanBench2Record = z.object({
  sample_id: z.string().min(1),
  task_goal: text,
  ...choices,
  domain: z.string(),
  scenario: z.string(),
  video_source: z.enum(['EpicKitchens', 'Ego4D']).optional(),
  video_id: z.string().optional(),
  video_basename: z.string().optional(),
  task_start_frame: z.number().int().optional(),
  current_observation_frame: z.number().int().optional(),
});

/** The public EgoPlan-Bench2 examples (examples.jsonl beside their clips). */
export const egoPlanBench2ExampleRecord = z.object({
  sample_id: z.string().min(1),
  domain: z.string(),
  scenario: z.string(),
  question: text,
  ...choices,
  video_source: z.enum(['EpicKitchens', 'Ego4D']),
  video_basename: z.string().min(1),
});

export type SeedBenchR1Record = z.infer<typeof seedBenchR1Record>;
export type EgoPlanRecord = z.infer<typeof egoPlanRecord>;
export type EgoPlanBench2Record = z.infer<typeof egoPlanBench2Record>;
export type EgoPlanBench2ExampleRecord = z.infer<typeof egoPlanBench2ExampleRecord>;

/** The first problem of a failed validation, as "field: message". */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '(record)', message: 'invalid record' };
  const field = issue.path.length > 0 ? issue.path.join('.') : '(record)';
  return { field, message: issue.message };
}
