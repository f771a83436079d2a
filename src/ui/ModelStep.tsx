import { useState } from 'react';
import {
  DTYPE_REQUESTS,
  type DeviceRequest,
  type DtypeRequest,
  type ModelSource,
} from '../model/index';
import { DEFAULT_MODEL_URL, HUB_MODEL_ID, useAppStore } from '../store/index';
import { sourceFromFiles } from '../worker/index';
import { FolderPicker } from './FolderPicker';
import { formatBytes, formatDuration } from './format';

/** "7 files: 7 from cache" / "7 files: 3 from network, 4 from cache". */
function sourceSummary(files: { from: string }[]): string {
  const counts = new Map<string, number>();
  for (const f of files) counts.set(f.from, (counts.get(f.from) ?? 0) + 1);
  return `${files.length} files: ${[...counts].map(([from, n]) => `${n} from ${from}`).join(', ')}`;
}

type Choice = 'builtin' | 'hub' | 'url' | 'folder';
const DEVICES: readonly DeviceRequest[] = ['auto', 'webgpu', 'wasm'];

/** Step 1: which model, in which precision, on which device. */
export function ModelStep() {
  const status = useAppStore((s) => s.modelStatus);
  const label = useAppStore((s) => s.modelLabel);
  const error = useAppStore((s) => s.modelError);
  const info = useAppStore((s) => s.modelInfo);
  const files = useAppStore((s) => s.modelFiles);
  const notices = useAppStore((s) => s.modelNotices);
  const loadModel = useAppStore((s) => s.loadModel);
  const [choice, setChoice] = useState<Choice>('builtin');
  const [hubId, setHubId] = useState(HUB_MODEL_ID);
  const [url, setUrl] = useState('');
  const [folder, setFolder] = useState<{ source: ModelSource; label: string } | null>(null);
  // auto: q4f16 on WebGPU with shader-f16, q4 without and on wasm, among the files that fit here.
  const [dtype, setDtype] = useState<DtypeRequest>('auto');
  const [device, setDevice] = useState<DeviceRequest>('auto');

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

  return (
    <fieldset className="step" aria-label="Model">
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
              onChange={() => setChoice(value)}
            />{' '}
            {text}
          </label>
        ))}
      </div>
      {choice === 'hub' && (
        <input
          aria-label="Hugging Face model id"
          value={hubId}
          onChange={(e) => setHubId(e.target.value)}
        />
      )}
      {choice === 'url' && (
        <input
          aria-label="Model URL"
          placeholder="https://…/Qwen2-VL-2B-Instruct"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
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
        <label>
          dtype{' '}
          <select
            aria-label="dtype"
            value={dtype}
            onChange={(e) => setDtype(DTYPE_REQUESTS.find((d) => d === e.target.value) ?? 'auto')}
          >
            {DTYPE_REQUESTS.map((d) => (
              <option key={d} value={d}>
                {d === 'auto' ? 'auto (per device)' : d}
              </option>
            ))}
          </select>
        </label>
        <label>
          device{' '}
          <select
            aria-label="device"
            value={device}
            onChange={(e) => setDevice(DEVICES.find((d) => d === e.target.value) ?? 'auto')}
          >
            <option value="auto">auto (WebGPU if available, else wasm)</option>
            <option value="webgpu">WebGPU</option>
            <option value="wasm">wasm (CPU)</option>
          </select>
        </label>
        <button
          type="button"
          className="primary"
          disabled={!chosen || status === 'loading'}
          onClick={() => chosen && void loadModel(chosen.source, chosen.label, dtype, device)}
        >
          {status === 'loading' ? 'Loading…' : 'Load model'}
        </button>
      </div>
      <p className="hint">
        auto picks q4f16 on WebGPU with shader-f16, else q4, among the files that load here. The
        reference runs bf16 weights; fp32 is the closest, q4/q8 are smaller and faster but change
        answers (the 2B in fp32 is too large for a browser). fp16 needs WebGPU with shader-f16.
      </p>
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
        <p className="ok" data-testid="model-status">
          Loaded {label} · {info.dtype} ({info.dtypeReason}) on <strong>{info.device}</strong> (
          {info.deviceReason}){info.device === 'wasm' ? ` · ${info.threads} threads` : ''} ·{' '}
          {formatDuration(info.loadMs)}
          {fileList.length > 0 && ` · ${sourceSummary(fileList)}`}
        </p>
      )}
      {status === 'error' && (
        <p role="alert" className="error">
          Could not load {label}: {error}
        </p>
      )}
      {notices.length > 0 && (
        <ul className="notices">
          {notices.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
