/**
 * Untrusted model text made visible: characters that would show as nothing or as an empty box
 * ("tofu") become escapes a reader can see and look up. A random-weights model emits any token of
 * the vocabulary: control and format characters, private-use and unassigned code points, halves of
 * a multi-byte character (decoded as U+FFFD), scripts this system has no font for. The text stays
 * text: the UI renders pieces as React text nodes only.
 */

export type Hidden =
  'control' | 'format' | 'private-use' | 'unassigned' | 'surrogate' | 'invalid-utf8' | 'no-font';

/** A run of text shown as it is, or a run of hidden characters of one kind (`count` of them). */
export type Piece =
  | { kind: 'text'; text: string }
  | { kind: 'hidden'; text: string; shown: string; why: Hidden; count: number };

/** Shown as is: newlines and tabs (the output is pre-wrapped), printable ASCII. */
const PLAIN = /^[\x20-\x7e\n\t]+$/;
const CATEGORY: [RegExp, Hidden][] = [
  [/\p{Cc}/u, 'control'],
  [/\p{Cf}/u, 'format'],
  [/\p{Co}/u, 'private-use'],
  [/\p{Cs}/u, 'surrogate'],
  [/\p{Cn}/u, 'unassigned'],
];

export function codePoints(text: string): string {
  // Code points on purpose: an escape names each one of a grapheme.
  return Array.from(text)
    .map((c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}}`)
    .join('');
}

function classify(grapheme: string, hasGlyph: (g: string) => boolean): Hidden | null {
  if (PLAIN.test(grapheme)) return null;
  if (grapheme === '\r') return 'control';
  if (grapheme.includes('\ufffd')) return 'invalid-utf8';
  for (const [re, why] of CATEGORY) if (re.test(grapheme)) return why;
  if (/^\p{White_Space}+$/u.test(grapheme)) return null;
  return hasGlyph(grapheme) ? null : 'no-font';
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Splits `text` into runs shown as they are and hidden characters with what to show instead:
 * U+FFFD stays "�" (the note says it is a split character), the rest become \u{…} escapes.
 * `hasGlyph` says whether this system can draw a grapheme (glyphs.ts; tests pass their own).
 */
export function visiblePieces(text: string, hasGlyph: (g: string) => boolean): Piece[] {
  const out: Piece[] = [];
  let plain = '';
  for (const { segment } of segmenter.segment(text)) {
    const why = classify(segment, hasGlyph);
    if (why === null) {
      plain += segment;
      continue;
    }
    if (plain) out.push({ kind: 'text', text: plain });
    plain = '';
    const shown = why === 'invalid-utf8' ? segment : codePoints(segment);
    const last = out.at(-1);
    // A run of one kind is one piece (one mark, one tooltip).
    if (last?.kind === 'hidden' && last.why === why) {
      last.text += segment;
      last.shown += shown;
      last.count += 1;
    } else out.push({ kind: 'hidden', text: segment, shown, why, count: 1 });
  }
  if (plain) out.push({ kind: 'text', text: plain });
  return out;
}

const WHY_TEXT: Record<Hidden, string> = {
  control: 'control characters',
  format: 'invisible format characters',
  'private-use': 'private-use code points',
  unassigned: 'unassigned code points',
  surrogate: 'unpaired surrogates',
  'invalid-utf8': 'bytes that are not valid UTF-8 (a character split between tokens), shown as �',
  'no-font': 'characters this system has no font for',
};

/** One sentence on what was escaped, or null when nothing was. */
export function hiddenNote(pieces: readonly Piece[]): string | null {
  const counts = new Map<Hidden, number>();
  for (const p of pieces)
    if (p.kind === 'hidden') counts.set(p.why, (counts.get(p.why) ?? 0) + p.count);
  if (counts.size === 0) return null;
  const parts = [...counts].map(([why, n]) => `${n} ${WHY_TEXT[why]}`);
  return `Shown as \\u{…} code points: ${parts.join('; ')}.`;
}

const WHY_ONE: Record<Hidden, string> = {
  control: 'a control character',
  format: 'an invisible format character',
  'private-use': 'a private-use code point',
  unassigned: 'an unassigned code point',
  surrogate: 'an unpaired surrogate',
  'invalid-utf8': 'bytes that are not valid UTF-8 (a character split between tokens)',
  'no-font': 'no font on this system draws it',
};

/** Short explanation of one hidden character (its tooltip). */
export function hiddenTitle(p: Extract<Piece, { kind: 'hidden' }>): string {
  return p.count === 1
    ? `${codePoints(p.text)}: ${WHY_ONE[p.why]}`
    : `${p.count} characters: ${WHY_TEXT[p.why]}`;
}
