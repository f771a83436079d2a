import { useMemo } from 'react';
import { splitOutput } from './results-inspect';
import { HiddenNote, VisibleText } from './VisibleText';
import './results.css';

/**
 * A model output with its <think> and <answer> parts set apart. The text is untrusted: it is only
 * ever rendered as React text nodes (no HTML is interpreted); characters that would show as
 * nothing or as a box are shown as escapes, with a note under the output (VisibleText).
 */
export function OutputText({ text, streaming = false }: { text: string; streaming?: boolean }) {
  const parts = useMemo(() => splitOutput(text), [text]);
  return (
    <>
      <pre className="output-text" aria-live={streaming ? 'polite' : undefined}>
        {parts.map((p, i) => (
          <span
            // Parts only ever grow at the end while streaming, so the index is a stable key.
            key={i}
            className={[
              `out-${p.kind}`,
              p.closed ? '' : 'out-open',
              p.official ? 'out-official' : '',
            ].join(' ')}
            title={
              p.official
                ? 'The answer the official rule reads (first <answer>…</answer>)'
                : p.kind === 'answer' && !p.closed
                  ? 'No closing </answer>: the official rule finds no answer here'
                  : undefined
            }
          >
            <VisibleText text={p.text} />
          </span>
        ))}
        {streaming && <span className="out-cursor" aria-hidden="true" />}
        {text === '' && !streaming && <span className="out-empty">(empty output)</span>}
      </pre>
      <HiddenNote text={text} />
    </>
  );
}
