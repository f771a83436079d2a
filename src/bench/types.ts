/** The benchmark's own vocabulary, shared by every stage. Plain data: structured-clonable. */

export type Level = 'L1' | 'L2' | 'L3';
export const LEVELS: readonly Level[] = ['L1', 'L2', 'L3'];

export type ChoiceLetter = 'A' | 'B' | 'C' | 'D';
export const CHOICE_LETTERS: readonly ChoiceLetter[] = ['A', 'B', 'C', 'D'];

export type VideoSource = 'EpicKitchens' | 'Ego4D';

/** Which annotation format a file was read as (protocol section 1). */
export type BenchmarkFormat =
  | 'seed-bench-r1-jsonl' // SEED-Bench-R1 annotations/validation_L*.jsonl
  | 'egoplan-json' // EgoPlan-Bench EgoPlan_validation.json (L1 + L2)
  | 'egoplan-bench2-json' // EgoPlan-Bench2 EgoPlan-Bench2.json (L3, question built from task_goal)
  | 'egoplan-bench2-examples-jsonl'; // the public EgoPlan-Bench2 examples (L3-style, with clips)

export interface ProgressSegment {
  narrationText: string;
  startFrame: number;
  stopFrame: number;
}

/** One multiple-choice question of the benchmark. */
export interface Sample {
  /** Always a string key; `rawSampleId` keeps the file's own value (int for L1/L2). */
  sampleId: string;
  rawSampleId: number | string;
  level: Level;
  question: string;
  choices: [string, string, string, string];
  gold: ChoiceLetter;
  /** The gold choice's text. */
  answer: string;
  videoSource: VideoSource;
  videoId: string | null;
  taskGoal: string | null;
  progress: ProgressSegment[];
  /** True when the prompt carries the progress clip (non-empty task_progress_metadata). */
  hasClip: boolean;
  /**
   * Where the clip lives, relative to the dataset root (`videos/<source>/<basename>`), best guess
   * first. Null when the question has no clip. Matching may fall back to the basename alone.
   */
  clipPaths: string[] | null;
  /** `images/<source>/<basename>`; null means the observation is the clip's last frame. */
  stillPath: string | null;
  domain: string | null;
  scenario: string | null;
  format: BenchmarkFormat;
  /** Where the record came from, for messages: file name and 1-based line (jsonl) or array index. */
  origin: { file: string; line?: number; index?: number };
}
