import { Fragment, useMemo } from 'react';
import { hasGlyph } from './glyphs';
import { hiddenNote, hiddenTitle, visiblePieces, type Piece } from './visible-text';

/** Pieces of untrusted text with what cannot be seen made visible (visible-text.ts). */
export function useVisiblePieces(text: string): Piece[] {
  return useMemo(() => visiblePieces(text, hasGlyph), [text]);
}

/** Untrusted text as React text nodes, hidden characters as marked escapes. */
export function VisibleText({ text }: { text: string }) {
  const pieces = useVisiblePieces(text);
  return <VisiblePieces pieces={pieces} />;
}

export function VisiblePieces({ pieces }: { pieces: readonly Piece[] }) {
  return (
    <>
      {pieces.map((p, i) =>
        p.kind === 'text' ? (
          p.text
        ) : (
          <abbr key={i} className={`hidden-char hidden-${p.why}`} title={hiddenTitle(p)}>
            {/* Lines break between escapes, never inside one (<wbr> adds no text). */}
            {p.shown.split(/(?=\\u\{)/).map((e, j) => (
              <Fragment key={j}>
                {j > 0 && <wbr />}
                {e}
              </Fragment>
            ))}
          </abbr>
        ),
      )}
    </>
  );
}

/** The sentence under an output that had hidden characters (null: nothing to say). */
export function HiddenNote({ text, id }: { text: string; id?: string }) {
  const note = useMemo(() => hiddenNote(visiblePieces(text, hasGlyph)), [text]);
  if (!note) return null;
  return (
    <p className="hidden-note" id={id} data-testid="hidden-note">
      {note}
    </p>
  );
}
