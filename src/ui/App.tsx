// The tokens and base styles first: every other sheet builds on them.
import './styles.css';
import { useEffect, useState } from 'react';
import { useAppStore } from '../store/index';
import { BenchmarkSets } from './BenchmarkSets';
import { BenchmarkStep } from './BenchmarkStep';
import { Callout } from './Callout';
import { Inspector } from './Inspector';
import { KeysDialog } from './KeysDialog';
import { ModelStep } from './ModelStep';
import { OfflinePanel } from './OfflinePanel';
import { Presentation } from './Presentation';
import { QuestionBrowser } from './QuestionBrowser';
import { ResultsView } from './ResultsView';
import { RunPanel } from './RunPanel';
import { useKeyboardScrollAreas } from './scroll-areas';
import { StatusLine } from './StatusLine';
import { ThemeToggle } from './ThemeToggle';
import { readUrlState, useUrlSync, type View } from './url';
import { VideosStep } from './VideosStep';

const appRoot = () => document.getElementById('root');

const VIEWS: { id: View; label: string; key: string }[] = [
  { id: 'browse', label: 'Benchmarks', key: '1' },
  { id: 'run', label: 'Run', key: '2' },
  { id: 'results', label: 'Results', key: '3' },
  { id: 'inspect', label: 'Inspector', key: '4' },
];

export function App() {
  const manifest = useAppStore((s) => s.manifest);
  const manifestMissing = useAppStore((s) => s.manifestMissing);
  const samplesIdle = useAppStore((s) => s.samples.status === 'idle');
  const runStatus = useAppStore((s) => s.runStatus);
  const locked = runStatus === 'running' || runStatus === 'pausing' || runStatus === 'paused';
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

  useKeyboardScrollAreas(appRoot);

  // The header is sticky: what sticks below it (the Run panel) needs its height.
  useEffect(() => {
    const header = document.querySelector<HTMLElement>('.app-header');
    if (!header) return;
    const observer = new ResizeObserver(() =>
      document.documentElement.style.setProperty('--header-h', `${header.offsetHeight}px`),
    );
    observer.observe(header);
    return () => observer.disconnect();
  }, []);

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
      <a className="skip-link" href="#main">
        Skip to the {VIEWS.find((v) => v.id === view)?.label ?? 'current'} view
      </a>
      <header className="app-header">
        <div className="header-row">
          <div className="brand">
            <span className="brand-mark" aria-hidden="true" />
            <h1>seedbench-web</h1>
            <span className="tagline">SEED-Bench-R1 in your browser, offline, on your own GPU</span>
          </div>
          <nav className="tabs" aria-label="Views">
            {VIEWS.map((v) => (
              <button
                key={v.id}
                type="button"
                className={v.id === view ? 'tab selected' : 'tab'}
                aria-current={v.id === view ? 'page' : undefined}
                aria-keyshortcuts={`Alt+${v.key}`}
                title={`Alt+${v.key}`}
                onClick={() => setView(v.id)}
              >
                {v.label}
              </button>
            ))}
          </nav>
          <div className="header-tools">
            <KeysDialog views={VIEWS} />
            <ThemeToggle />
          </div>
        </div>
        <StatusLine />
      </header>
      <main id="main" tabIndex={-1} className={`view view-${view}`}>
        {manifest.status === 'error' && (
          <div className="view-notice">
            {manifestMissing ? (
              <Callout tone="info" title="No benchmark sets yet." testId="sets-missing">
                Get them with <code>npm run fetch-benchmarks</code> (online) or{' '}
                <code>npm run fetch-benchmarks -- --from DIR</code> (a folder of annotation files),
                then run <code>npm start</code> again. Meanwhile the{' '}
                <button type="button" className="link-button" onClick={() => setView('run')}>
                  Run view
                </button>{' '}
                opens an annotation file and runs the built-in tiny model.
              </Callout>
            ) : (
              <Callout tone="bad" alert testId="sets-error">
                {manifest.message}
              </Callout>
            )}
          </div>
        )}
        {view === 'browse' && (
          <div className="browse-layout">
            <BenchmarkSets />
            {!(manifestMissing && samplesIdle) && <QuestionBrowser />}
          </div>
        )}
        {view === 'run' && (
          <div className="run-layout">
            <div className="steps">
              {locked && (
                <Callout tone="info" title="Settings are locked" testId="settings-locked">
                  while the run is {runStatus}: the model, questions, scoring and videos are part of
                  what its results mean. Cancel the run (or let it finish) to change them.
                </Callout>
              )}
              <ModelStep />
              <BenchmarkStep />
              <VideosStep />
            </div>
            <RunPanel />
          </div>
        )}
        {view === 'results' && (
          <div className="single">
            <ResultsView />
          </div>
        )}
        {view === 'inspect' && (
          <div className="single">
            <Inspector onRerun={(id) => void rerunQuestion(id)} />
          </div>
        )}
      </main>
      <OfflinePanel />
    </div>
  );
}
