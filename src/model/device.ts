/**
 * The device choice. "auto" means a real GPU: WebGPU when the adapter is hardware (not the
 * browser's software fallback, e.g. SwiftShader) and has what the dtype needs (shader-f16 for fp16
 * variants), else wasm. A software adapter runs only when WebGPU is asked for by name, and is then
 * labelled slow: on a machine without a GPU it is many times slower than wasm.
 */
import type { DeviceRequest, ModelDevice, ModelDtype } from './types';
import { ModelError } from './types';

interface GpuAdapterLike {
  features: ReadonlySet<string>;
  limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number };
  /** Older Chromium put it on the adapter itself. */
  isFallbackAdapter?: boolean;
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
  /** WebGPU on a software (fallback) adapter: it works, slowly. */
  slow: boolean;
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
  const onWasm = { slow: false, shaderF16: false, maxGpuBufferBytes: null };
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
  const software = adapter
    ? (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false)
    : false;
  // Every reason WebGPU will not do, so the message names them all.
  const problems: string[] = [];
  if (!gpu) problems.push('this browser exposes no WebGPU (navigator.gpu missing)');
  else if (!adapter) problems.push('WebGPU is present but no adapter is available');
  else {
    if (software && request === 'auto') {
      problems.push(
        `the only WebGPU adapter (${name ?? ''}) is a software fallback, slower than wasm; pick WebGPU to use it anyway`,
      );
    }
    if (f16 && !adapter.features.has('shader-f16')) {
      problems.push(`${f16} needs the WebGPU feature shader-f16, which this adapter lacks`);
    }
  }
  if (problems.length === 0 && adapter) {
    const limits = [adapter.limits?.maxBufferSize, adapter.limits?.maxStorageBufferBindingSize];
    const known = limits.filter((x): x is number => typeof x === 'number');
    return {
      device: 'webgpu',
      reason: software
        ? `WebGPU adapter: ${name ?? ''} (software fallback adapter: slow, wasm is usually faster)`
        : `WebGPU adapter: ${name ?? ''}`,
      adapter: name,
      slow: software,
      shaderF16: adapter.features.has('shader-f16'),
      maxGpuBufferBytes: known.length > 0 ? Math.min(...known) : null,
    };
  }
  const problem = problems.join('; ') || 'no adapter';
  if (request === 'webgpu')
    throw new ModelError('unsupported-device', `WebGPU requested but ${problem}`);
  return { device: 'wasm', reason: `wasm, because ${problem}`, adapter: name, ...onWasm };
}
