// Browser-test harness of presentation mode: the spec hands it a real annotation file; the page
// shows one question (its clip from the served demo clips, sampled by the real video worker) and
// takes a model answer as the store's spot check would record it, scored by the real bench code.
// The model itself is the app's (e2e/runs-spot.spec.ts); this page covers how answers are shown.
import { createElement, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { parseBenchmarkFile, resultFrom } from '../../src/bench/index';
import { libraryFromServer, useAppStore } from '../../src/store/index';
import { Presentation } from '../../src/ui/index';

async function open(
  file: { name: string; text: string },
  setId: string,
  index: number,
): Promise<number> {
  const value = parseBenchmarkFile(file.name, file.text).samples;
  // The demo clips the preview server serves beside the app (this page is two folders down).
  const media = await libraryFromServer('../../demo-videos/');
  useAppStore.setState({
    media,
    samples: { status: 'ready', value },
    setId,
    questionIndex: index,
    presenting: true,
  });
  return value.length;
}

/** A finished answer to the shown question, as runSpot stores it after the model replied. */
function answer(response: string) {
  const s = useAppStore.getState();
  const sample = s.samples.status === 'ready' ? s.samples.value[s.questionIndex] : undefined;
  if (!sample) throw new Error('harness: no question shown');
  const result = { ...resultFrom(sample, { response }), runKey: 'harness', device: 'wasm' };
  useAppStore.setState({
    spotAnswer: {
      sampleId: sample.sampleId,
      runKey: 'harness',
      status: 'done',
      result,
      message: null,
    },
  });
}

Object.assign(window, { harness: { open, answer } });

const root = document.getElementById('root');
if (!root) throw new Error('present.html has no #root');
createRoot(root).render(createElement(StrictMode, null, createElement(Presentation)));
