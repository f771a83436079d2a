import { useEffect } from 'react';
import { useAppStore } from '../store/index';
import { BenchmarkSets } from './BenchmarkSets';
import { QuestionBrowser } from './QuestionBrowser';
import { readUrlState, useUrlSync } from './url';
import './styles.css';

export function App() {
  const manifest = useAppStore((s) => s.manifest);
  const loadManifest = useAppStore((s) => s.loadManifest);
  const selectSet = useAppStore((s) => s.selectSet);
  const selectQuestion = useAppStore((s) => s.selectQuestion);

  useEffect(() => {
    void (async () => {
      await loadManifest();
      // Links for talks: ?set=<id>&q=<sample id> open a question directly.
      const { set, question } = readUrlState();
      if (!set) return;
      await selectSet(set);
      const samples = useAppStore.getState().samples;
      if (question && samples.status === 'ready') {
        const index = samples.value.findIndex((s) => s.sampleId === question);
        if (index >= 0) selectQuestion(index);
      }
    })();
  }, [loadManifest, selectSet, selectQuestion]);
  useUrlSync();

  return (
    <div className="app">
      <header className="app-header">
        <h1>seedbench-web</h1>
        <span className="tagline">SEED-Bench-R1 in your browser, offline, on your own GPU</span>
      </header>
      {manifest.status === 'error' ? (
        <p role="alert" className="error">
          {manifest.message}
        </p>
      ) : (
        <main className="layout">
          <BenchmarkSets />
          <QuestionBrowser />
        </main>
      )}
    </div>
  );
}
