/**
 * Whether this system can draw a grapheme in the output font: drawn on a canvas, compared with a
 * code point no font has (U+10FFFD, drawn as the font's .notdef box) and with nothing at all.
 * Canvas text goes through the same font fallback as the page, so "the same pixels as .notdef"
 * means the page would show a box too. Cached per grapheme.
 */
const SIZE = 24;
const cache = new Map<string, boolean>();
let ctx: CanvasRenderingContext2D | null | undefined;
let notdef: Uint8ClampedArray | null = null;

function draw(c: CanvasRenderingContext2D, g: string): Uint8ClampedArray {
  c.clearRect(0, 0, SIZE * 2, SIZE * 2);
  c.fillText(g, 2, SIZE);
  return c.getImageData(0, 0, SIZE * 2, SIZE * 2).data;
}

function same(a: Uint8ClampedArray, b: Uint8ClampedArray): boolean {
  for (let i = 3; i < a.length; i += 4) if (a[i] !== b[i]) return false;
  return true;
}

function context(): CanvasRenderingContext2D | null {
  if (ctx !== undefined) return ctx;
  const canvas = document.createElement('canvas');
  canvas.width = SIZE * 2;
  canvas.height = SIZE * 2;
  ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (ctx) {
    const family = getComputedStyle(document.documentElement).getPropertyValue('--font-mono');
    ctx.font = `${SIZE - 6}px ${family.trim() || 'monospace'}`;
    ctx.fillStyle = '#000';
    notdef = draw(ctx, '\u{10fffd}');
  }
  return ctx;
}

export function hasGlyph(grapheme: string): boolean {
  const known = cache.get(grapheme);
  if (known !== undefined) return known;
  const c = context();
  // Without a canvas nothing can be checked: show the text as it is.
  let ok = true;
  if (c && notdef) {
    const pixels = draw(c, grapheme);
    const blank = pixels.every((v, i) => i % 4 !== 3 || v === 0);
    ok = !blank && !same(pixels, notdef);
  }
  cache.set(grapheme, ok);
  return ok;
}
