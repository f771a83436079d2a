import { useState } from 'react';
import {
  DEFAULT_LOAD_SETTINGS,
  DTYPE_REQUESTS,
  Q4_INT8_MODES,
  type DeviceRequest,
  type ModelSource,
  type Q4Int8Mode,
  type Q4Int8Request,
} from '../model/index';
import { DEFAULT_MODEL_URL, useAppStore } from '../store/index';
import { sourceFromFiles } from '../worker/index';
import { Callout } from './Callout';
import { FolderPicker } from './FolderPicker';
import { formatBytes, formatDuration } from './format';

/** "7 files: 7 from cache" / "7 files: 3 from network, 4 from cache". */
function sourceSummary(files: { from: string }[]): string {
  const counts = new Map<string, number>();
  for (const f of files) counts.set(f.from, (counts.get(f.from) ?? 0) + 1);
  return `${files.length} files: ${[...counts].map(([from, n]) => `${n} from ${from}`).join(', ')}`;
}

const DEVICES: readonly DeviceRequest[] = ['auto', 'webgpu', 'wasm'];
const DEVICE_TEXT: Record<DeviceRequest, string> = {
  auto: 'auto: a hardware GPU (WebGPU), else wasm',
  webgpu: 'WebGPU (any adapter; software ones are slow)',
  wasm: 'wasm (CPU)',
};

/** A labelled select over a fixed list of values; `onPick` gets the value as its own type. */
function ChoiceSelect<T extends string>(props: {
  name: string;
  hint?: string;
  values: readonly T[];
  value: T;
  text: (v: T) => string;
  onPick: (v: T) => void;
}) {
  const { name, hint, values, value, text, onPick } = props;
  return (
    <label title={hint}>
      {name}{' '}
      <select
        aria-label={name}
        value={value}
        onChange={(e) => {
          const picked = values.find((v) => v === e.target.value);
          if (picked !== undefined) onPick(picked);
        }}
      >
        {values.map((v) => (
          <option key={v} value={v}>
            {text(v)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The "activations" choices (LoadSettings.q4Int8), in words. */
const INT8_TEXT: Record<Q4Int8Mode, string> = {
  off: 'exact (q4 as stored)',
  prefill: 'int8: vision + prompt',
  all: 'int8: every run',
};
const INT8_REQUESTS: readonly Q4Int8Request[] = ['default', ...Q4_INT8_MODES];
const INT8_HINT =
  'Only q4 on the fast graphs: their matrix products take int8-rounded inputs (activations rounded ' +
  'to 8 bits), so numbers differ slightly from exact q4. Other dtypes and the reference engine run as stored.';

/** What the loaded model's engine note says about int8 activations (the fast engine's last clause). */
function int8Said(engineNote: string): string | null {
  return /int8 activations.*$/.exec(engineNote)?.[0] ?? null;
}

/** Step 1: which model, in which precision, on which device. */
export function ModelStep() {
  const status = useAppStore((s) => s.modelStatus);
  const label = useAppStore((s) => s.modelLabel);
  const error = useAppStore((s) => s.modelError);
  const info = useAppStore((s) => s.modelInfo);
  const files = useAppStore((s) => s.modelFiles);
  const notices = useAppStore((s) => s.modelNotices);
  const deviceNote = useAppStore((s) => s.modelDeviceNote);
  const loadModel = useAppStore((s) => s.loadModel);
  const runStatus = useAppStore((s) => s.runStatus);
  const locked = runStatus === 'running' || runStatus === 'pausing' || runStatus === 'paused';
  // In the store, so that a model loaded by Resume shows here as what it is.
  const form = useAppStore((s) => s.modelForm);
  const setForm = useAppStore((s) => s.setModelForm);
  const { choice, hubId, url, dtype, device, q4Int8 } = form;
  const asked = useAppStore((s) => s.modelRequest?.q4Int8 ?? 'off');
  const [folder, setFolder] = useState<{ source: ModelSource; label: string } | null>(null);
  // dtype auto (the default): q4f16 on WebGPU with shader-f16, q4 without; q8 on wasm (then q4,
  // then fp32), among the files that fit here (src/model/dtype-choice.ts, dtypePreference).

  const source = (): { source: ModelSource; label: string } | null => {
    if (choice === 'builtin') {
      return { source: { kind: 'url', url: DEFAULT_MODEL_URL }, label: 'tiny-random-qwen2-vl' };
    }
    if (choice === 'hub')
      return hubId.trim()
        ? { source: { kind: 'hub', id: hubId.trim() }, label: hubId.trim() }
        : null;
    if (choice === 'url')
      return url.trim() ? { source: { kind: 'url', url: url.trim() }, label: url.trim() } : null;
    return folder;
  };
  const chosen = source();
  const fileList = Object.values(files);
  const total = fileList.reduce((s, f) => s + (f.total ?? f.loaded), 0);
  const loaded = fileList.reduce((s, f) => s + f.loaded, 0);
  const eta = fileList.reduce((s, f) => Math.max(s, f.done ? 0 : (f.etaS ?? 0)), 0);
  // Whether int8 activations ran, as the engine says (not every device has the kernels). Said when
  // they ran, or when they did not although the form asked for them by name; the default is quiet
  // where it does not apply (fp32, wasm, the reference engine).
  const explicit = q4Int8 !== 'default';
  const int8Line =
    info && (info.q4Int8 !== 'off' || (explicit && asked !== 'off'))
      ? (int8Said(info.engineNote) ??
        `int8 activations (${asked}) not applied: only q4 on the fast engine has them`)
      : null;

  return (
    <fieldset className="step" aria-label="Model" disabled={locked}>
      <legend>1 · Model</legend>
      <div className="choice-row" role="radiogroup" aria-label="Model source">
        {(
          [
            ['builtin', 'Built-in tiny test model (offline)'],
            ['hub', 'Hugging Face id'],
            ['url', 'URL'],
            ['folder', 'Local folder'],
          ] as const
        ).map(([value, text]) => (
          <label key={value}>
            <input
              type="radio"
              name="model-source"
              checked={choice === value}
              onChange={() => setForm({ choice: value })}
            />{' '}
            {text}
          </label>
        ))}
      </div>
      {choice === 'hub' && (
        <input
          aria-label="Hugging Face model id"
          value={hubId}
          onChange={(e) => setForm({ hubId: e.target.value })}
        />
      )}
      {choice === 'url' && (
        <input
          aria-label="Model URL"
          placeholder="https://…/Qwen2-VL-2B-Instruct"
          value={url}
          onChange={(e) => setForm({ url: e.target.value })}
        />
      )}
      {choice === 'folder' && (
        <div className="choice-row">
          <FolderPicker
            what="Model folder"
            pickText="Pick model folder…"
            onHandle={(handle) =>
              setFolder({ source: { kind: 'folder', handle }, label: handle.name })
            }
            onFiles={(list) => {
              const src = sourceFromFiles(list);
              setFolder({ source: src, label: src.kind === 'files' ? src.name : 'folder' });
            }}
          />
          {folder && <span className="hint">{folder.label}</span>}
        </div>
      )}
      <div className="choice-row">
        <ChoiceSelect
          name="dtype"
          values={DTYPE_REQUESTS}
          value={dtype}
          text={(d) => (d === 'auto' ? 'auto (per device)' : d)}
          onPick={(d) => setForm({ dtype: d })}
        />
        <ChoiceSelect
          name="device"
          values={DEVICES}
          value={device}
          text={(d) => DEVICE_TEXT[d]}
          onPick={(d) => setForm({ device: d })}
        />
        <ChoiceSelect
          name="activations"
          hint={INT8_HINT}
          values={INT8_REQUESTS}
          value={q4Int8}
          text={(q) =>
            q === 'default' ? `default: ${INT8_TEXT[DEFAULT_LOAD_SETTINGS.q4Int8]}` : INT8_TEXT[q]
          }
          onPick={(q) => setForm({ q4Int8: q })}
        />
        {status === 'ready' && info && (
          <output className="runs-on" data-testid="device-runs" title={info.deviceReason}>
            runs on <strong>{info.device === 'webgpu' ? 'WebGPU' : 'wasm'}</strong>
            {info.deviceSlow && ' (software adapter: slow)'}
          </output>
        )}
        <button
          type="button"
          className="primary"
          disabled={!chosen || status === 'loading'}
          onClick={() =>
            chosen && void loadModel(chosen.source, chosen.label, dtype, device, q4Int8)
          }
        >
          {status === 'loading' ? 'Loading…' : 'Load model'}
        </button>
      </div>
      <p className="hint">
        auto picks q4f16 on WebGPU with shader-f16, else q4; on wasm q8 (its kernels are the fast
        ones there), else q4, among the files that load here. The reference runs bf16 weights; fp32
        is the closest, q4/q8 are smaller and faster but change answers (the 2B in fp32 is too large
        for a browser). fp16 needs WebGPU with shader-f16. Activations (q4 on the fast graphs only):
        int8 rounds each projection's input to 8 bits for onnxruntime's int8 kernels (WebGPU with
        subgroups; wasm has none and stays exact), so numbers differ slightly from exact q4. The
        loaded line says what ran.
      </p>
      {status === 'loading' && deviceNote && <p className="hint">Device: {deviceNote}</p>}
      {status === 'loading' && fileList.length > 0 && (
        <div className="model-progress" aria-label="Model download">
          <progress max={total || 1} value={loaded} />
          <span>
            {formatBytes(loaded)} / {formatBytes(total)}
            {eta > 0 && ` · ETA ${formatDuration(eta * 1000)}`}
          </span>
          <ul className="file-progress">
            {fileList.map((f) => (
              <li key={f.file}>
                {f.file}: {formatBytes(f.loaded)}
                {f.total ? ` / ${formatBytes(f.total)}` : ''} ({f.from}){f.done ? ' ✓' : ''}
              </li>
            ))}
          </ul>
        </div>
      )}
      {status === 'ready' && info && (
        <Callout tone={info.deviceSlow ? 'warn' : 'ok'} title="Loaded" live testId="model-status">
          {label} · {info.dtype} ({info.dtypeReason}) on <strong>{info.device}</strong> (
          {info.deviceReason}){info.device === 'wasm' ? ` · ${info.threads} threads` : ''} ·{' '}
          {/* Which engine runs, in words (the note says why: fast graphs present, or not). */}
          <span title={info.engineNote} data-testid="model-engine">
            {info.engine === 'fast' ? 'fast engine' : 'reference engine (transformers.js)'}
          </span>{' '}
          {int8Line && (
            <>
              · <span data-testid="model-int8">{int8Line}</span>{' '}
            </>
          )}
          · {formatDuration(info.loadMs)}
          {fileList.length > 0 && ` · ${sourceSummary(fileList)}`}
        </Callout>
      )}
      {status === 'error' && (
        <Callout tone="bad" alert title="Not loaded:">
          could not load {label}: {error}
        </Callout>
      )}
      {notices.length > 0 && (
        <ul className="notices" aria-label="Model messages">
          {notices.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
