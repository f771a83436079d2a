import { describe, expect, it } from 'vitest';
import { hiddenNote, visiblePieces } from './visible-text';

/** The text back from what is shown: escapes decoded. */
function unescapeShown(shown: string): string {
  return shown.replace(/\\u\{([0-9a-f]{1,6})\}/g, (_, hex: string) =>
    String.fromCodePoint(parseInt(hex, 16)),
  );
}

const all = () => true;

describe('visiblePieces', () => {
  it('keeps ASCII, newlines, tabs and drawable characters as one text run', () => {
    expect(visiblePieces('ab\n\tc קפה é', all)).toEqual([{ kind: 'text', text: 'ab\n\tc קפה é' }]);
  });

  it('escapes control, format, private-use and unassigned code points', () => {
    const pieces = visiblePieces('a\u0007b\u200bc\ue000d\u{50000}', all);
    expect(pieces.filter((p) => p.kind === 'hidden')).toEqual([
      { kind: 'hidden', text: '\u0007', shown: '\\u{0007}', why: 'control', count: 1 },
      { kind: 'hidden', text: '\u200b', shown: '\\u{200b}', why: 'format', count: 1 },
      { kind: 'hidden', text: '\ue000', shown: '\\u{e000}', why: 'private-use', count: 1 },
      { kind: 'hidden', text: '\u{50000}', shown: '\\u{50000}', why: 'unassigned', count: 1 },
    ]);
    expect(pieces.map((p) => (p.kind === 'text' ? p.text : '|')).join('')).toBe('a|b|c|d|');
  });

  it('keeps U+FFFD as the replacement glyph, marked as a split character', () => {
    expect(visiblePieces('x\ufffdy', all)[1]).toEqual({
      kind: 'hidden',
      text: '\ufffd',
      shown: '\ufffd',
      why: 'invalid-utf8',
      count: 1,
    });
  });

  it('escapes what the system cannot draw, a run of them as one piece', () => {
    const noCjk = (g: string) => !/\p{Script=Han}/u.test(g);
    const pieces = visiblePieces(' conscience涅涅', noCjk);
    expect(pieces).toEqual([
      { kind: 'text', text: ' conscience' },
      { kind: 'hidden', text: '涅涅', shown: '\\u{6d85}\\u{6d85}', why: 'no-font', count: 2 },
    ]);
    expect(hiddenNote(pieces)).toBe(
      'Shown as \\u{…} code points: 2 characters this system has no font for.',
    );
    expect(hiddenNote(visiblePieces('plain', all))).toBeNull();
  });

  it('loses nothing: what is shown decodes back to the text', () => {
    const text = 'a\u0007值班\ufffd\u{1f600}b\n';
    const shown = visiblePieces(text, (g) => !/\p{Script=Han}/u.test(g))
      .map((p) => (p.kind === 'text' ? p.text : p.shown))
      .join('');
    expect(unescapeShown(shown)).toBe(text);
  });

  it('never asks about ASCII or white space', () => {
    const asked: string[] = [];
    visiblePieces('abc \u00a0\u3000', (g) => (asked.push(g), true));
    expect(asked).toEqual([]);
  });
});
