/** Stored runs set up again after a reload: set, settings, model, videos, then a check and Start. */
import { answerSettings, identityConflicts, type RunSettings } from '../bench/index';
import {
  DTYPE_REQUESTS,
  MODEL_DTYPES,
  Q4_INT8_MODES,
  type DeviceRequest,
  type DtypeRequest,
  type ModelSource,
  type Q4Int8Request,
} from '../model/index';
import type { ResumeInfo, RunRecord } from './db';
import type { AppGet, AppSet, AppState } from './index';
import { libraryFromDirectory, libraryFromServer } from './media';
import { identityOf } from './run';

const DEVICES: readonly DeviceRequest[] = ['auto', 'webgpu', 'wasm'];

function isModelSource(v: unknown): v is ModelSource {
  if (typeof v !== 'object' || v === null || !('kind' in v)) return false;
  return v.kind === 'url' || v.kind === 'hub' || v.kind === 'folder';
}

/** What "Resume" needs; folder picks without a handle cannot be stored. */
export function resumeInfo(s: AppState): ResumeInfo {
  const req = s.modelRequest;
  const storable = req !== null && isModelSource(req.source);
  return {
    setId: s.setId,
    model:
      req && storable
        ? {
            source: req.source,
            label: s.modelLabel ?? '',
            dtype: req.dtype,
            device: req.device,
            // What took effect once loaded (fp32, wasm: 'off'), so that presentation mode's "load the
            // last run's model" names what ran; as asked while nothing is loaded yet.
            q4Int8: s.modelInfo?.q4Int8 ?? req.q4Int8,
          }
        : null,
    media: s.media?.kind === 'served' ? 'served' : (s.media?.handle ?? null),
    mediaLabel: s.media?.label ?? null,
  };
}

async function reopenFolder(handle: FileSystemDirectoryHandle): Promise<boolean> {
  // Asking needs the user's click, which this call comes from.
  const state = handle.requestPermission
    ? await handle.requestPermission({ mode: 'read' })
    : 'granted';
  return state === 'granted';
}

/**
 * Sets a stored run up again and continues it, unless what is loaded now is not that run's
 * content (other model files, edited annotation records): then it says what differs and stops.
 */
export async function resumeStoredRun(get: AppGet, set: AppSet, record: RunRecord) {
  const notice = (m: string) => set({ runNotices: [...get().runNotices.slice(-49), m] });
  const r = record.resume;
  const settings: RunSettings | null = record.settings;
  if (!r || !settings) {
    notice(`${record.label} was stored without its setup; set it up again and press Start.`);
    return;
  }
  if (!r.setId || r.setId.startsWith('file:')) {
    notice(`Open the annotation file of this run again (${settings.benchmark.id}), then Start.`);
    return;
  }
  await get().selectSet(r.setId);
  set({ runConfig: { ...answerSettings(settings), subset: settings.subset } });
  const m = r.model;
  if (
    m &&
    isModelSource(m.source) &&
    (get().modelStatus !== 'ready' || get().modelLabel !== m.label)
  ) {
    // The dtype the run ran (an 'auto' request resolved at load), so the same files load again.
    const dtype = MODEL_DTYPES.find((d) => d === settings.model.dtype) ?? 'auto';
    const device = DEVICES.find((d) => d === m.device) ?? 'auto';
    // The int8 activations the run recorded (older runs: 'off'), never today's default.
    await get().loadModel(m.source, m.label, dtype, device, settings.model.q4Int8);
  }
  if (r.media === 'served') set({ media: await libraryFromServer() });
  else if (r.media && (await reopenFolder(r.media)))
    set({ media: await libraryFromDirectory(r.media) });
  if (!get().media) {
    notice(`Pick the video folder again (${r.mediaLabel ?? 'not stored'}), then Start.`);
    return;
  }
  if (get().modelStatus !== 'ready') {
    notice('Load the model again, then Start.');
    return;
  }
  const now = identityOf(get());
  if (typeof now === 'string') {
    notice(now);
    return;
  }
  const diff = identityConflicts(settings, now);
  if (diff.length > 0) {
    notice(
      `Not resumed: ${diff.map((d) => d.message).join('; ')}. Press Start for a new run with what is loaded.`,
    );
    return;
  }
  await get().startRun();
}

/**
 * The model a stored run asked for, as a request that can be loaded without a click-through
 * permission prompt (a URL or hub id; a picked folder needs the Run view). Null when none.
 */
export function storedModelRequest(r: ResumeInfo | null): {
  source: ModelSource;
  label: string;
  dtype: DtypeRequest;
  device: DeviceRequest;
  q4Int8: Q4Int8Request;
} | null {
  const m = r?.model;
  if (!m || !isModelSource(m.source) || m.source.kind === 'folder') return null;
  return {
    source: m.source,
    label: m.label,
    dtype: DTYPE_REQUESTS.find((d) => d === m.dtype) ?? 'fp32',
    device: DEVICES.find((d) => d === m.device) ?? 'auto',
    // As asked then; runs stored before the setting ran exact.
    q4Int8: Q4_INT8_MODES.find((q) => q === m.q4Int8) ?? 'off',
  };
}
