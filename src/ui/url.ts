import { useEffect } from 'react';
import { useAppStore } from '../store/index';

export type View = 'browse' | 'run' | 'results' | 'inspect';
const VIEWS: View[] = ['browse', 'run', 'results', 'inspect'];

export function readUrlState(): { set: string | null; question: string | null; view: View | null } {
  const p = new URLSearchParams(window.location.search);
  const v = p.get('view');
  return {
    set: p.get('set'),
    question: p.get('q'),
    view: VIEWS.find((x) => x === v) ?? null,
  };
}

/** Mirrors the view, set and question into the URL, so the address is a shareable link. */
export function useUrlSync(view: View) {
  const setId = useAppStore((s) => s.setId);
  const sampleId = useAppStore((s) =>
    s.samples.status === 'ready' ? (s.samples.value[s.questionIndex]?.sampleId ?? null) : null,
  );
  useEffect(() => {
    const p = new URLSearchParams(window.location.search);
    if (setId && !setId.startsWith('file:')) p.set('set', setId);
    if (sampleId) p.set('q', sampleId);
    if (view !== 'browse') p.set('view', view);
    else p.delete('view');
    const query = p.toString();
    const next = `${window.location.pathname}${query ? `?${query}` : ''}`;
    if (next !== `${window.location.pathname}${window.location.search}`) {
      window.history.replaceState(null, '', next);
    }
  }, [setId, sampleId, view]);
}
