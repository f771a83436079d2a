// Browser-test harness of the Results view and the Inspector: the spec hands it real benchmark
// files, per-question model outputs and real decoded frames; it fills the app store the way the run
// loop does (makeResult per question) and renders both components.
import { createElement, Fragment, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import {
  makeResult,
  parseBenchmarkFile,
  type ModelOutputs,
  type Sample,
} from '../../src/bench/index';
import { useAppStore, type LiveQuestion, type StoredResult } from '../../src/store/index';
import { saveResult, saveRun } from '../../src/store/db';
import { Inspector, ResultsView } from '../../src/ui/index';

export interface HarnessFrames {
  sampleId: string;
  /** PNG files, base64: clip frames then (optionally) the still. */
  pngs: string[];
  indices: number[];
  timestampsS: number[];
  stillFrom: 'image' | 'last-frame';
}

const reruns: string[] = [];

function pngUrl(b64: string): string {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return URL.createObjectURL(new Blob([bytes], { type: 'image/png' }));
}

/** Reads the files, keeps the listed sample ids in order, and stores one result per output. */
function load(
  files: { name: string; text: string }[],
  ids: string[],
  outputs: Record<string, ModelOutputs>,
  frames: HarnessFrames[],
): number {
  const all = new Map<string, Sample>();
  for (const f of files)
    for (const s of parseBenchmarkFile(f.name, f.text).samples) all.set(s.sampleId, s);
  const runSamples = ids.map((id) => {
    const s = all.get(id);
    if (!s) throw new Error(`harness: no question ${id}`);
    return s;
  });
  const runKey = 'harness | tiny-random-qwen2-vl | fp32 | official | seed-bench-r1 | max256';
  const results: Record<string, StoredResult> = {};
  for (const s of runSamples) {
    const out = outputs[s.sampleId];
    if (out) results[s.sampleId] = { ...makeResult(s, out), runKey, device: 'wasm' };
  }
  const fr = Object.fromEntries(
    frames.map((f) => [
      f.sampleId,
      {
        previews: f.pngs.map(pngUrl),
        indices: f.indices,
        timestampsS: f.timestampsS,
        stillFrom: f.stillFrom,
      },
    ]),
  );
  useAppStore.setState({
    runSamples,
    results,
    runKey,
    runStatus: 'finished',
    frames: fr,
    setId: 'harness',
    modelLabel: '/models/tiny-random-qwen2-vl',
  });
  return Object.keys(results).length;
}

function setLive(live: Omit<LiveQuestion, 'startedAt'> | null) {
  useAppStore.setState({
    live: live && { ...live, startedAt: performance.now() },
    runStatus: live ? 'running' : 'finished',
  });
}

/**
 * Stores a finished past run in IndexedDB with the store's own functions, as a run would have, so
 * the Results view can list it and compare with it.
 */
async function seedRun(
  files: { name: string; text: string }[],
  key: string,
  model: string,
  outputs: Record<string, ModelOutputs>,
): Promise<void> {
  const all = new Map<string, Sample>();
  for (const f of files)
    for (const s of parseBenchmarkFile(f.name, f.text).samples) all.set(s.sampleId, s);
  const ids = Object.keys(outputs);
  const now = new Date().toISOString();
  await saveRun({
    key,
    settings: {
      model,
      dtype: 'q4',
      scoring: { official: true, letters: false, likelihood: false },
      wording: 'seed-bench-r1',
      maxNewTokens: 256,
      benchmark: 'harness',
    },
    sampleIds: ids,
    createdAt: now,
    updatedAt: now,
    status: 'finished',
    device: 'webgpu',
    subset: JSON.stringify({ kind: 'all' }),
  });
  for (const id of ids) {
    const s = all.get(id);
    const out = outputs[id];
    if (s && out) await saveResult({ ...makeResult(s, out), runKey: key, device: 'webgpu' });
  }
}

/**
 * Mean milliseconds per store update until the next frame is painted: `live` streams `count`
 * tokens, or `results` is replaced `count` times (as each finished question does); 'none' gives
 * the frame wait alone, to subtract.
 */
async function timeUpdates(kind: 'live' | 'results' | 'none', sampleId: string, count: number) {
  const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r)));
  await frame();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    if (kind === 'live')
      setLive({ sampleId, stage: 'model', text: 'token '.repeat(i + 1), tokens: i + 1 });
    else if (kind === 'results')
      useAppStore.setState({ results: { ...useAppStore.getState().results } });
    await frame();
  }
  const ms = (performance.now() - t0) / count;
  if (kind === 'live') setLive(null);
  return ms;
}

Object.assign(window, { harness: { load, setLive, seedRun, timeUpdates, reruns } });

const root = document.getElementById('root');
if (!root) throw new Error('results.html has no #root');
createRoot(root).render(
  createElement(
    StrictMode,
    null,
    createElement(
      Fragment,
      null,
      createElement(ResultsView),
      createElement(Inspector, { onRerun: (id: string) => reruns.push(id) }),
    ),
  ),
);
