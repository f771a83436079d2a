import { useEffect, useState } from 'react';
import { useAppStore } from '../store/index';
import { BenchmarkSets } from './BenchmarkSets';
import { BenchmarkStep } from './BenchmarkStep';
import { Inspector } from './Inspector';
import { ModelStep } from './ModelStep';
import { OfflinePanel } from './OfflinePanel';
import { Presentation } from './Presentation';
import { QuestionBrowser } from './QuestionBrowser';
import { ResultsView } from './ResultsView';
import { RunPanel } from './RunPanel';
import { readUrlState, useUrlSync, type View } from './url';
import { VideosStep } from './VideosStep';
import './styles.css';

const VIEWS: { id: View; label: string; key: string }[] = [
  { id: 'browse', label: 'Benchmarks', key: '1' },
  { id: 'run', label: 'Run', key: '2' },
  { id: 'results', label: 'Results', key: '3' },
  { id: 'inspect', label: 'Inspector', key: '4' },
];

export function App() {
  const manifest = useAppStore((s) => s.manifest);
  const loadManifest = useAppStore((s) => s.loadManifest);
  const selectSet = useAppStore((s) => s.selectSet);
  const selectQuestion = useAppStore((s) => s.selectQuestion);
  const rerunQuestion = useAppStore((s) => s.rerunQuestion);
  const [view, setView] = useState<View>(() => readUrlState().view ?? 'browse');
  const presenting = useAppStore((s) => s.presenting);

  useEffect(() => {
    void (async () => {
      await loadManifest();
      // Links for talks: ?set=<id>&q=<sample id>&view=inspect open a question directly.
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
  useUrlSync(view);

  // Alt+1..4 switch views from anywhere.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey) return;
      const v = VIEWS.find((x) => x.key === e.key);
      if (v) {
        e.preventDefault();
        setView(v.id);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  if (presenting) return <Presentation />;
  return (
    <div className="app">
      <header className="app-header">
        <h1>seedbench-web</h1>
        <nav className="tabs" aria-label="Views">
          {VIEWS.map((v) => (
            <button
              key={v.id}
              type="button"
              className={v.id === view ? 'tab selected' : 'tab'}
              aria-current={v.id === view ? 'page' : undefined}
              title={`Alt+${v.key}`}
              onClick={() => setView(v.id)}
            >
              {v.label}
            </button>
          ))}
        </nav>
        <span className="tagline">SEED-Bench-R1 in your browser, offline, on your own GPU</span>
      </header>
      {manifest.status === 'error' && (
        <p role="alert" className="error">
          {manifest.message}
        </p>
      )}
      {view === 'browse' && (
        <main className="layout">
          <BenchmarkSets />
          <QuestionBrowser />
        </main>
      )}
      {view === 'run' && (
        <main className="run-layout">
          <div className="steps">
            <ModelStep />
            <BenchmarkStep />
            <VideosStep />
          </div>
          <RunPanel />
        </main>
      )}
      {view === 'results' && (
        <main className="single">
          <ResultsView />
        </main>
      )}
      {view === 'inspect' && (
        <main className="single">
          <Inspector onRerun={(id) => void rerunQuestion(id)} />
        </main>
      )}
      <OfflinePanel />
    </div>
  );
}
