import { describe, expect, it } from 'vitest';
import { termSafe } from './term-safe';

describe('termSafe', () => {
  it('shows control and bidi characters as escapes, keeps other text', () => {
    expect(termSafe('id\x1b[31mred\x1b]0;title\x07 \r3/3 \u202egnp.exe')).toBe(
      'id\\x1b[31mred\\x1b]0;title\\x07 \\x0d3/3 \\u202egnp.exe',
    );
    expect(termSafe('\x9b2J caf\u00e9 \u4e2d 🎬')).toBe('\\x9b2J caf\u00e9 \u4e2d 🎬');
    expect(termSafe('a\nb\tc')).toBe('a\nb\tc');
    expect(termSafe('a\nb\tc', true)).toBe('a\\x0ab\\x09c');
  });
});
