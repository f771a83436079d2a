import type { ChoiceLetter } from './types';

/**
 * Scoring (protocol section 5). The official rule mirrors the Python evaluation: first
 * `<answer>(.*?)</answer>` (non-greedy, across newlines), Python-`strip()`ped, and the question
 * scores when its first character equals the gold letter, case-sensitively.
 */

// Python's str.isspace() set, which str.strip() removes; JS trim() differs (\x1c-\x1f, \x85, \ufeff).
const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

export function pythonStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

const ANSWER_TAG = /<answer>([\s\S]*?)<\/answer>/;

/** The stripped content of the first answer tag, or null when there is none. */
export function extractAnswerTag(response: string): string | null {
  const m = ANSWER_TAG.exec(response);
  return m ? pythonStrip(m[1] ?? '') : null;
}

export interface OfficialScore {
  /** 1 when the first character of the answer equals the gold letter. */
  reward: 0 | 1;
  /** The answer tag's stripped content (null: no tag). */
  answer: string | null;
  /** The letter the official rule read (the first character when it is A-D), else null. */
  letter: ChoiceLetter | null;
}

export function scoreOfficial(response: string, gold: ChoiceLetter): OfficialScore {
  const answer = extractAnswerTag(response);
  const first = answer?.codePointAt(0);
  const firstChar = first === undefined ? null : String.fromCodePoint(first);
  const letter =
    firstChar !== null && /^[ABCD]$/.test(firstChar) ? (firstChar as ChoiceLetter) : null;
  return { reward: firstChar === gold ? 1 : 0, answer, letter };
}

export type LenientMethod = 'official' | 'tag-letter' | 'phrase' | 'leading-letter' | 'lone-letter';

export interface LenientScore {
  reward: 0 | 1;
  letter: ChoiceLetter | null;
  /** How the letter was found; anything but 'official' means the lenient extractor was needed. */
  method: LenientMethod | null;
}

const PHRASES = [
  /(?:correct|best|final)?\s*(?:answer|option|choice)\s*(?:is|:)?\s*(?:option\s*)?\(?\s*([ABCD])\b/i,
];

/**
 * NOT the official rule: a lenient letter extractor for outputs without a usable tag (e.g.
 * `<answer>Option B</answer>`, "The answer is (C)"). Reported separately, with how often it was
 * needed, so official numbers never mix with it.
 */
export function scoreLenient(response: string, gold: ChoiceLetter): LenientScore {
  const official = scoreOfficial(response, gold);
  const done = (letter: ChoiceLetter, method: LenientMethod): LenientScore => ({
    reward: letter === gold ? 1 : 0,
    letter,
    method,
  });
  if (official.letter) return done(official.letter, 'official');
  if (official.answer) {
    const inTag = /(?:^|[^A-Za-z])([ABCD])(?![A-Za-z])/.exec(official.answer);
    if (inTag?.[1]) return done(inTag[1] as ChoiceLetter, 'tag-letter');
  }
  // Outside the reasoning: the text after </think> when there is one.
  const tail = pythonStrip(response.replace(/<think>[\s\S]*?<\/think>/g, ''));
  for (const phrase of PHRASES) {
    const m = phrase.exec(tail);
    if (m?.[1]) return done(m[1].toUpperCase() as ChoiceLetter, 'phrase');
  }
  const leading = /^\(?([ABCD])(?:[).:]|$)/.exec(tail);
  if (leading?.[1]) return done(leading[1] as ChoiceLetter, 'leading-letter');
  const lone = [...tail.matchAll(/(?:^|[^A-Za-z])([ABCD])(?![A-Za-z])/g)].map((m) => m[1]);
  if (lone.length > 0 && new Set(lone).size === 1)
    return done(lone[0] as ChoiceLetter, 'lone-letter');
  return { reward: 0, letter: null, method: null };
}

/** The choice with the highest value (first on ties), e.g. letter log-probs. */
export function argmaxLetter(values: readonly number[]): ChoiceLetter | null {
  return pickIndex(values, (a, b) => a > b);
}

/** The choice with the lowest value (first on ties), e.g. mean NLL of the choice texts. */
export function argminLetter(values: readonly number[]): ChoiceLetter | null {
  return pickIndex(values, (a, b) => a < b);
}

function pickIndex(values: readonly number[], better: (a: number, b: number) => boolean) {
  let best = -1;
  values.forEach((v, i) => {
    if (Number.isNaN(v)) return;
    if (best < 0 || better(v, values[best] as number)) best = i;
  });
  return best < 0 || best > 3 ? null : ((['A', 'B', 'C', 'D'] as const)[best] ?? null);
}
