// Browser-test harness of the Results view and the Inspector: the spec hands it real benchmark
// files, per-question model outputs and real decoded frames; it fills the app store the way the run
// loop does (makeResult per question) and renders both components.
import { createElement, Fragment, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import {
  modelDigest,
  OFFICIAL_CONFIG,
  parseBenchmarkFile,
  resultFrom,
  runIdentity,
  runLabel,
  runSettings,
  samplesDigest,
  type ModelOutputs,
  type Sample,
} from '../../src/bench/index';
import {
  framesKey,
  useAppStore,
  type LiveQuestion,
  type StoredResult,
} from '../../src/store/index';
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

/**
 * The settings record of a harness run: the real identity functions over the given questions; the
 * harness loads no model, so the model's file list is empty (and its digest says so).
 */
function harnessSettings(samples: readonly Sample[], model: string, dtype: string) {
  const identity = runIdentity(
    { id: 'harness', questions: samples.length, digest: samplesDigest(samples) },
    { label: model, dtype, q4Int8: 'off', digest: modelDigest([]), files: [] },
    OFFICIAL_CONFIG,
  );
  return runSettings(identity, { subset: OFFICIAL_CONFIG.subset, device: 'wasm' });
}

/** Reads the files, keeps the listed sample ids in order, and stores one result per output. */
function load(
  files: { name: string; text: string }[],
  ids: string[],
  outputs: Record<string, Partial<ModelOutputs>>,
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
  const settings = harnessSettings(runSamples, '/models/tiny-random-qwen2-vl', 'fp32');
  const runKey = settings.key;
  const results: Record<string, StoredResult> = {};
  for (const s of runSamples) {
    const out = outputs[s.sampleId];
    if (out) results[s.sampleId] = { ...resultFrom(s, out), runKey, device: 'wasm' };
  }
  const fr = Object.fromEntries(
    frames.map((f) => [
      framesKey(runKey, f.sampleId),
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
    runSettings: settings,
    runStatus: 'finished',
    frames: fr,
    setId: 'harness',
    modelLabel: '/models/tiny-random-qwen2-vl',
  });
  return Object.keys(results).length;
}

type LiveClocks = 'startedAt' | 'maxTokens' | 'firstTokenAt' | 'lastTokenAt';
function setLive(live: Omit<LiveQuestion, LiveClocks> | null) {
  const now = performance.now();
  useAppStore.setState({
    live: live && {
      ...live,
      maxTokens: 256,
      startedAt: now,
      firstTokenAt: live.tokens > 0 ? now : null,
      lastTokenAt: live.tokens > 0 ? now : null,
    },
    runStatus: live ? 'running' : 'finished',
  });
}

/**
 * Stores a finished past run in IndexedDB with the store's own functions, as a run would have, so
 * the Results view can list it and compare with it.
 */
async function seedRun(
  files: { name: string; text: string }[],
  model: string,
  outputs: Record<string, Partial<ModelOutputs>>,
): Promise<void> {
  const all = new Map<string, Sample>();
  for (const f of files)
    for (const s of parseBenchmarkFile(f.name, f.text).samples) all.set(s.sampleId, s);
  const ids = Object.keys(outputs);
  const samples = ids.flatMap((id) => all.get(id) ?? []);
  const settings = harnessSettings(samples, model, 'q4');
  const now = new Date().toISOString();
  const results = samples.flatMap((s) => {
    const out = outputs[s.sampleId];
    return out ? [{ ...resultFrom(s, out), runKey: settings.key, device: 'webgpu' }] : [];
  });
  await useAppStore.getState().putStoredRun(
    {
      key: settings.key,
      settings,
      label: runLabel(settings),
      sampleIds: ids,
      createdAt: now,
      updatedAt: now,
      status: 'finished',
      device: 'webgpu',
      resume: null,
    },
    results,
  );
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
