import { useEffect, useRef } from 'react';

const KEYS: [string, string][] = [
  ['j / k, ↓ / ↑', 'next / previous question (Benchmarks, Inspector)'],
  ['Tab / Shift+Tab', 'move between controls; the focused one has a ring'],
  ['Enter / Space', 'press the focused button, toggle the focused box'],
  ['Escape', 'close this list and other dialogs'],
  ['?', 'open this list'],
];

function typing(e: KeyboardEvent): boolean {
  const t = e.target instanceof HTMLElement ? e.target : null;
  return (
    !!t &&
    (t.tagName === 'INPUT' ||
      t.tagName === 'TEXTAREA' ||
      t.tagName === 'SELECT' ||
      t.isContentEditable)
  );
}

/** The keyboard shortcuts, in a modal dialog (Escape closes it, focus goes back). */
export function KeysDialog({ views }: { views: readonly { label: string; key: string }[] }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === '?' && !typing(e) && !e.altKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        ref.current?.showModal();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <>
      <button
        type="button"
        className="keys-button"
        aria-haspopup="dialog"
        aria-keyshortcuts="?"
        onClick={() => ref.current?.showModal()}
      >
        Keys
      </button>
      <dialog ref={ref} className="keys-dialog" aria-labelledby="keys-title">
        <h2 id="keys-title">Keyboard</h2>
        <table>
          <tbody>
            {[
              ...views.map((v): [string, string] => [`Alt+${v.key}`, `the ${v.label} view`]),
              ...KEYS,
            ].map(([k, what]) => (
              <tr key={k}>
                <th scope="row">
                  <kbd>{k}</kbd>
                </th>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <form method="dialog">
          <button type="submit" className="primary" autoFocus>
            Close
          </button>
        </form>
      </dialog>
    </>
  );
}
