import type { ReactNode } from 'react';

export type Tone = 'ok' | 'bad' | 'warn' | 'info';

const ICON: Record<Tone, string> = { ok: '✓', bad: '✕', warn: '!', info: 'i' };
const WORD: Record<Tone, string> = { ok: 'Done', bad: 'Error', warn: 'Warning', info: 'Note' };

/**
 * A message box in a status tone: an icon, a word ("Error", "Warning") and the text, so the tone
 * never rests on colour alone. `alert` makes it an ARIA alert (for problems that appear in
 * response to what the user just did: a bad file, a failed load).
 */
export function Callout({
  tone,
  title,
  alert = false,
  live = false,
  children,
  testId,
  label,
}: {
  tone: Tone;
  /** Replaces the tone's word ("Error") as the heading. */
  title?: string;
  alert?: boolean;
  /** A polite live region (role=status): news that is not a problem, e.g. "Loaded". */
  live?: boolean;
  children: ReactNode;
  testId?: string;
  label?: string;
}) {
  return (
    <div
      className={`callout callout-${tone}`}
      role={alert ? 'alert' : live ? 'status' : undefined}
      data-testid={testId}
      aria-label={label}
    >
      <span className="callout-icon" aria-hidden="true">
        {ICON[tone]}
      </span>
      <div className="callout-body">
        <strong className="callout-title">{title ?? WORD[tone]}</strong> {children}
      </div>
    </div>
  );
}

/** A short status word with an icon, in a tone: "✓ official", "! not official". */
export function Chip({
  tone,
  children,
  testId,
  title,
}: {
  tone: Tone | 'neutral';
  children: ReactNode;
  testId?: string;
  title?: string;
}) {
  return (
    <span className={`chip chip-${tone}`} data-testid={testId} title={title}>
      {children}
    </span>
  );
}
