/** The device choice: WebGPU when an adapter exists (with shader-f16 for fp16 variants), else wasm. */
import type { DeviceRequest, ModelDevice, ModelDtype } from './types';
import { ModelError } from './types';

interface GpuAdapterLike {
  features: ReadonlySet<string>;
  limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number };
  info?: {
    vendor?: string;
    architecture?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}
/** dtypes whose weights or activations are fp16 and need `shader-f16` on WebGPU. */
export function needsShaderF16(dtype: ModelDtype): boolean {
  return dtype === 'fp16' || dtype === 'q4f16';
}

export interface DeviceChoice {
  device: ModelDevice;
  reason: string;
  adapter: string | null;
  /** Whether the chosen WebGPU adapter has shader-f16 (false on wasm). */
  shaderF16: boolean;
  /**
   * min(maxBufferSize, maxStorageBufferBindingSize) of the adapter: onnxruntime-web requests the
   * adapter's own limits, and binds every weight as one storage buffer. Null on wasm.
   */
  maxGpuBufferBytes: number | null;
}

/** Decide the execution device and say why. */
export async function chooseDevice(
  request: DeviceRequest,
  dtypes: ModelDtype | readonly ModelDtype[],
): Promise<DeviceChoice> {
  const list: readonly ModelDtype[] = typeof dtypes === 'string' ? [dtypes] : dtypes;
  const f16 = list.find(needsShaderF16);
  const onWasm = { shaderF16: false, maxGpuBufferBytes: null };
  if (request === 'wasm')
    return { device: 'wasm', reason: 'wasm requested', adapter: null, ...onWasm };
  const gpu = (self.navigator as unknown as { gpu?: GpuLike }).gpu;
  let adapter: GpuAdapterLike | null = null;
  if (gpu) {
    try {
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    } catch {
      adapter = null;
    }
  }
  const name = adapter
    ? [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description]
        .filter(Boolean)
        .join(' ') || 'unnamed adapter'
    : null;
  const fallbackNote = adapter?.info?.isFallbackAdapter ? ' (software fallback adapter)' : '';
  let problem: string | null = null;
  if (!gpu) problem = 'this browser exposes no WebGPU (navigator.gpu missing)';
  else if (!adapter) problem = 'WebGPU is present but no adapter is available';
  else if (f16 && !adapter.features.has('shader-f16')) {
    problem = `${f16} needs the WebGPU feature shader-f16, which this adapter lacks`;
  }
  if (problem === null && adapter) {
    const limits = [adapter.limits?.maxBufferSize, adapter.limits?.maxStorageBufferBindingSize];
    const known = limits.filter((x): x is number => typeof x === 'number');
    return {
      device: 'webgpu',
      reason: `WebGPU adapter: ${name ?? ''}${fallbackNote}`,
      adapter: name,
      shaderF16: adapter.features.has('shader-f16'),
      maxGpuBufferBytes: known.length > 0 ? Math.min(...known) : null,
    };
  }
  if (request === 'webgpu')
    throw new ModelError('unsupported-device', `WebGPU requested but ${problem ?? 'no adapter'}`);
  return {
    device: 'wasm',
    reason: `wasm, because ${problem ?? 'no adapter'}`,
    adapter: name,
    ...onWasm,
  };
}
