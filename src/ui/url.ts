import { useEffect } from 'react';
import { useAppStore } from '../store/index';

export function readUrlState(): { set: string | null; question: string | null } {
  const p = new URLSearchParams(window.location.search);
  return { set: p.get('set'), question: p.get('q') };
}

/** Mirrors the browsed set and question into the URL, so the address is a shareable link. */
export function useUrlSync() {
  const setId = useAppStore((s) => s.setId);
  const sampleId = useAppStore((s) =>
    s.samples.status === 'ready' ? (s.samples.value[s.questionIndex]?.sampleId ?? null) : null,
  );
  useEffect(() => {
    const p = new URLSearchParams(window.location.search);
    if (setId) p.set('set', setId);
    if (sampleId) p.set('q', sampleId);
    const next = `${window.location.pathname}?${p.toString()}`;
    if (setId && next !== `${window.location.pathname}${window.location.search}`) {
      window.history.replaceState(null, '', next);
    }
  }, [setId, sampleId]);
}
