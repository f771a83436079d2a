import { useEffect } from 'react';
import { useAppStore } from '../store/index';

export type View = 'browse' | 'run' | 'results' | 'inspect';
const VIEWS: View[] = ['browse', 'run', 'results', 'inspect'];

export interface UrlState {
  set: string | null;
  question: string | null;
  view: View | null;
  /** A stored run's key (?run=): Results and the Inspector open on it. */
  run: string | null;
  /** ?present=1: one question full screen, for talks. */
  present: boolean;
}

export function readUrlState(): UrlState {
  const p = new URLSearchParams(window.location.search);
  const v = p.get('view');
  return {
    set: p.get('set'),
    question: p.get('q'),
    view: VIEWS.find((x) => x === v) ?? null,
    run: p.get('run'),
    present: p.get('present') === '1',
  };
}

/** Mirrors the view, set and question into the URL, so the address is a shareable link. */
export function useUrlSync(view: View) {
  const setId = useAppStore((s) => s.setId);
  const sampleId = useAppStore((s) =>
    s.samples.status === 'ready' ? (s.samples.value[s.questionIndex]?.sampleId ?? null) : null,
  );
  const viewedKey = useAppStore((s) => s.viewedKey);
  const presenting = useAppStore((s) => s.presenting);
  useEffect(() => {
    const p = new URLSearchParams(window.location.search);
    if (setId && !setId.startsWith('file:')) p.set('set', setId);
    if (sampleId) p.set('q', sampleId);
    if (view !== 'browse') p.set('view', view);
    else p.delete('view');
    // The stored run shown in Results and the Inspector (none: the current or the last run).
    if (viewedKey) p.set('run', viewedKey);
    else p.delete('run');
    if (presenting) p.set('present', '1');
    else p.delete('present');
    const query = p.toString();
    const next = `${window.location.pathname}${query ? `?${query}` : ''}`;
    if (next !== `${window.location.pathname}${window.location.search}`) {
      window.history.replaceState(null, '', next);
    }
  }, [setId, sampleId, view, viewedKey, presenting]);
}
