import { describe, expect, it, vi } from 'vitest';
import {
  modelDigest,
  OFFICIAL_CONFIG,
  runIdentity,
  runSettings,
  samplesDigest,
  type RunSettings,
} from '../bench/index';
import { readRunRecord, type RunRecord } from './db';
import type { AppGet, AppSet, AppState } from './index';
import { resumeInfo, resumeStoredRun, storedModelRequest } from './resume';

function settingsWith(q4Int8: RunSettings['model']['q4Int8']): RunSettings {
  const identity = runIdentity(
    { id: 'set', questions: 0, digest: samplesDigest([]) },
    { label: 'tiny', dtype: 'q4', q4Int8, digest: modelDigest([]), files: [] },
    OFFICIAL_CONFIG,
  );
  return runSettings(identity, { subset: { kind: 'all' }, device: 'wasm' });
}

function record(settings: RunSettings, asked?: string): RunRecord {
  const model = { source: { kind: 'url', url: 'models/tiny' }, label: 'tiny', dtype: 'auto' };
  return {
    key: settings.key,
    settings,
    label: 'run',
    sampleIds: [],
    createdAt: 't',
    updatedAt: 't',
    status: 'paused',
    device: 'wasm',
    resume: {
      setId: 'set',
      model: { ...model, device: 'wasm', ...(asked ? { q4Int8: asked } : {}) },
      media: null,
      mediaLabel: null,
    },
  };
}

/** The store as far as resuming reads it, with loadModel recorded. */
function store() {
  const loadModel = vi.fn<AppState['loadModel']>(() => Promise.resolve());
  const state = {
    modelStatus: 'none',
    modelLabel: null,
    runNotices: [],
    media: null,
    selectSet: () => Promise.resolve(),
    loadModel,
  } as unknown as AppState;
  const get: AppGet = () => state;
  const set: AppSet = (p) => Object.assign(state, p);
  return { get, set, loadModel, state };
}

describe('resuming a stored run', () => {
  it('loads the model with the int8 activations the run recorded, not the default', async () => {
    const s = store();
    // From the run's settings record (the resume info's request may say 'default' or nothing).
    await resumeStoredRun(s.get, s.set, record(settingsWith('all')));
    expect(s.loadModel).toHaveBeenCalledWith(
      { kind: 'url', url: 'models/tiny' },
      'tiny',
      'q4',
      'wasm',
      'all',
    );
  });

  it('loads runs stored before the setting exact', async () => {
    const s = store();
    // A record as IndexedDB holds one from before: no q4Int8 in its settings or resume info.
    const { q4Int8, ...model } = settingsWith('off').model;
    expect(q4Int8).toBe('off');
    const raw = JSON.parse(JSON.stringify(record(settingsWith('off')))) as RunRecord;
    const old = readRunRecord({ ...raw, settings: { ...raw.settings, model } });
    if (typeof old === 'string') throw new Error(old);
    expect(old.key).toBe(settingsWith('off').key);
    await resumeStoredRun(s.get, s.set, old);
    expect(s.loadModel.mock.calls[0]?.[4]).toBe('off');
    expect(storedModelRequest(old.resume)?.q4Int8).toBe('off');
    expect(storedModelRequest(record(settingsWith('off'), 'prefill').resume)?.q4Int8).toBe(
      'prefill',
    );
  });

  it('stores the request as loaded, q4Int8 included', () => {
    const s = store();
    Object.assign(s.state, {
      setId: 'set',
      modelLabel: 'tiny',
      modelRequest: {
        source: { kind: 'url', url: 'models/tiny' },
        dtype: 'q4',
        device: 'wasm',
        q4Int8: 'prefill',
      },
    });
    expect(resumeInfo(s.state).model).toMatchObject({ dtype: 'q4', q4Int8: 'prefill' });
  });
});
