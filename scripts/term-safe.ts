// Text from files and from the model, printed to a terminal: control characters could move the
// cursor, recolour or retitle the terminal, or forge a line ("\r3 of 3 correct"), and bidi
// controls could reorder what is shown. They are printed as visible escapes instead.

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
// eslint-disable-next-line no-control-regex -- as above, newlines and tabs included
const UNSAFE_LINE = /[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

const escape = (c: string) => {
  const code = c.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `s` with its control characters as \xNN / \uNNNN; newlines and tabs kept unless `oneLine`. */
export function termSafe(s: string, oneLine = false): string {
  return s.replace(oneLine ? UNSAFE_LINE : UNSAFE, escape);
}
