import { CHOICE_LETTERS, type ChoiceLetter } from './types';

/**
 * Scoring (protocol section 5). The official rule mirrors the Python evaluation: first
 * `<answer>(.*?)</answer>` (non-greedy, across newlines), Python-`strip()`ped, and the question
 * scores when its first character equals the gold letter, case-sensitively.
 */

// Python's str.isspace() set, which str.strip() removes; JS trim() differs (\x1c-\x1f, \x85, \ufeff).
// eslint-disable-next-line no-control-regex -- \x1c-\x1f are whitespace to Python
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

// Model output is untrusted text: every function below reads it in linear time (no regex that
// can backtrack over a long run of spaces or unclosed tags).

/** `s` as a choice letter; null when it is not one of A-D (checked, not cast). */
function asLetter(s: string | null | undefined): ChoiceLetter | null {
  return CHOICE_LETTERS.find((l) => l === s) ?? null;
}

export function pythonStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PY_SPACE.test(s.charAt(start))) start++;
  while (end > start && PY_SPACE.test(s.charAt(end - 1))) end--;
  return s.slice(start, end);
}

/**
 * Where the first `open ... close` pair lies (start of open, start of close), as the lazy regex
 * `open(.*?)close` (DOTALL) finds it: when no close follows the first open, none follows a later
 * one either, so two indexOf calls decide it.
 */
function firstTagContent(
  s: string,
  open: string,
  close: string,
  from = 0,
): [number, number] | null {
  const start = s.indexOf(open, from);
  if (start < 0) return null;
  const end = s.indexOf(close, start + open.length);
  return end < 0 ? null : [start, end];
}

/** The stripped content of the first answer tag, or null when there is none. */
export function extractAnswerTag(response: string): string | null {
  const at = firstTagContent(response, '<answer>', '</answer>');
  return at ? pythonStrip(response.slice(at[0] + '<answer>'.length, at[1])) : null;
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
  const letter = asLetter(firstChar);
  return { reward: firstChar === gold ? 1 : 0, answer, letter };
}

export type LenientMethod = 'official' | 'tag-letter' | 'phrase' | 'leading-letter' | 'lone-letter';

export interface LenientScore {
  reward: 0 | 1;
  letter: ChoiceLetter | null;
  /** How the letter was found; anything but 'official' means the lenient extractor was needed. */
  method: LenientMethod | null;
}

const SPACE = /\s/; // JS \s, as the phrase rule has always used
const WORD = /[A-Za-z0-9_]/; // what \b separates (ASCII, no u flag)
const KEYWORD = /answer|option|choice/gi;

const skipSpace = (s: string, i: number) => {
  while (i < s.length && SPACE.test(s.charAt(i))) i++;
  return i;
};
// Sticky, case-insensitive as the old regex's /i (no u flag: only ASCII folds to ASCII).
const IS = /is/iy;
const OPTION = /option/iy;
const LETTER = /[ABCD]/iy;
const at = (re: RegExp, s: string, i: number) => {
  re.lastIndex = i;
  return re.test(s);
};

/**
 * "The answer is (C)", "best option: B", "Choice: option D": the letter after the first answer,
 * option or choice word that one follows, case-insensitive. Exactly what the regex
 * /(?:correct|best|final)?\s*(?:answer|option|choice)\s*(?:is|:)?\s*(?:option\s*)?\(?\s*([ABCD])\b/i
 * finds, scanned once: that regex backtracks cubically on long runs of spaces. Each optional
 * word is taken when present (skipping it leaves a character that is no letter A-D), so one
 * greedy pass per keyword decides it.
 */
function phraseLetter(text: string): ChoiceLetter | null {
  KEYWORD.lastIndex = 0;
  for (let m = KEYWORD.exec(text); m; m = KEYWORD.exec(text)) {
    let i = skipSpace(text, m.index + m[0].length);
    if (at(IS, text, i)) i = skipSpace(text, i + 2);
    else if (text.charAt(i) === ':') i = skipSpace(text, i + 1);
    if (at(OPTION, text, i)) i = skipSpace(text, i + 'option'.length);
    if (text.charAt(i) === '(') i = skipSpace(text, i + 1);
    if (at(LETTER, text, i) && !WORD.test(text.charAt(i + 1)))
      return asLetter(text.charAt(i).toUpperCase());
  }
  return null;
}

/** The text without its `<think>...</think>` parts, as `replace(/<think>[\s\S]*?<\/think>/g, '')`. */
function withoutThink(s: string): string {
  let out = '';
  let from = 0;
  let pair = firstTagContent(s, '<think>', '</think>');
  while (pair) {
    out += s.slice(from, pair[0]);
    from = pair[1] + '</think>'.length;
    pair = firstTagContent(s, '<think>', '</think>', from);
  }
  return out + s.slice(from);
}

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
    const inTag = asLetter(/(?:^|[^A-Za-z])([ABCD])(?![A-Za-z])/.exec(official.answer)?.[1]);
    if (inTag) return done(inTag, 'tag-letter');
  }
  // Outside the reasoning: the text after </think> when there is one.
  const tail = pythonStrip(withoutThink(response));
  const phrase = phraseLetter(tail);
  if (phrase) return done(phrase, 'phrase');
  const leading = asLetter(/^\(?([ABCD])(?:[).:]|$)/.exec(tail)?.[1]);
  if (leading) return done(leading, 'leading-letter');
  const lone = [...tail.matchAll(/(?:^|[^A-Za-z])([ABCD])(?![A-Za-z])/g)].map((m) => m[1]);
  const only = new Set(lone).size === 1 ? asLetter(lone[0]) : null;
  if (only) return done(only, 'lone-letter');
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
