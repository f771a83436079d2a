/// <reference types="vite/client" />
/**
 * transformers.js / onnxruntime-web set-up: local ORT binaries (never a CDN), wasm threads, and
 * the device choice (WebGPU when an adapter exists, with shader-f16 for fp16 variants, else wasm).
 */
import { env, LogLevel } from '@huggingface/transformers';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import { ModelError } from './types';

interface GpuDeviceLike {
  lost: Promise<{ reason?: string; message?: string }>;
}

let configured = false;

/** Point ORT at the bundled binaries. Must run AFTER transformers.js is imported (it sets a CDN). */
export function configureRuntime(numThreads: number | null): void {
  const onnx = env.backends.onnx;
  const wasm = onnx.wasm;
  if (!wasm) throw new ModelError('runtime', 'onnxruntime-web has no wasm backend in this build');
  // Mutate the nested object: transformers.js shares it with ORT's own env.
  wasm.wasmPaths = {
    wasm: new URL(ortWasmUrl, self.location.href).href,
    mjs: new URL(ortMjsUrl, self.location.href).href,
  };
  const isolated = self.crossOriginIsolated;
  const cores = self.navigator.hardwareConcurrency;
  // Threads need SharedArrayBuffer (cross-origin isolation); 4 is where ORT's speed-up flattens.
  wasm.numThreads = isolated ? Math.max(1, numThreads ?? Math.min(4, cores)) : 1;
  if (!configured) {
    env.logLevel = LogLevel.ERROR;
    // Model files are served and cached by our own layer (files.ts); nothing from the Hub directly.
    env.allowLocalModels = false;
    env.allowRemoteModels = true;
    env.useBrowserCache = false;
    env.useCustomCache = false;
    env.useWasmCache = false;
    configured = true;
  }
}

export function wasmThreads(): number {
  return env.backends.onnx.wasm?.numThreads ?? 1;
}

/** Resolves when ORT's WebGPU device is lost (after the first WebGPU session exists). */
export async function watchDeviceLost(onLost: (message: string) => void): Promise<void> {
  try {
    const device = (await env.backends.onnx.webgpu?.device) as GpuDeviceLike | undefined;
    if (!device) return;
    void device.lost.then((info) => onLost(`${info.reason ?? 'unknown'}: ${info.message ?? ''}`));
  } catch {
    // No WebGPU device: nothing to watch.
  }
}

/** Destroy ORT's WebGPU device, as a driver reset would (tests of the device-lost path). */
export async function destroyGpuDevice(): Promise<boolean> {
  const device = (await env.backends.onnx.webgpu?.device) as { destroy(): void } | undefined;
  if (!device) return false;
  device.destroy();
  return true;
}

/** onnxruntime-web's wasm memories, caught as they are created (see watchWasmMemory). */
const wasmMemories: WebAssembly.Memory[] = [];
const WATCHED = Symbol.for('seedbench.watchedWasmMemory');

/**
 * Wrap WebAssembly.Memory so the memory onnxruntime-web creates (its threaded build imports one)
 * is seen: a wasm memory only grows, so its size is the peak of the heap that holds every wasm
 * session's weights, activations and outputs. Must run before the first session is created.
 */
function watchWasmMemory(): void {
  const Original = WebAssembly.Memory;
  if (Reflect.get(Original, WATCHED) === true) return;
  // Called with `new`, a constructor that returns an object yields that object: the real Memory.
  function Watched(descriptor: WebAssembly.MemoryDescriptor): WebAssembly.Memory {
    const memory = new Original(descriptor);
    wasmMemories.push(memory);
    return memory;
  }
  Watched.prototype = Original.prototype; // keeps `memory instanceof WebAssembly.Memory` true
  Reflect.set(Watched, WATCHED, true);
  Reflect.set(WebAssembly, 'Memory', Watched);
}
watchWasmMemory();

/**
 * Bytes of the JS heap (Chromium's performance.memory) and of onnxruntime-web's wasm heap (its
 * size so far, which is its peak); null where not exposed.
 */
export function memoryUse(): { jsHeapBytes: number | null; wasmHeapBytes: number | null } {
  const wasm =
    wasmMemories.length > 0 ? Math.max(...wasmMemories.map((m) => m.buffer.byteLength)) : null;
  return {
    jsHeapBytes: self.performance.memory?.usedJSHeapSize ?? null,
    wasmHeapBytes: wasm,
  };
}

/**
 * The operator a session could not be created for, when onnxruntime says it has no kernel for it on
 * this execution provider (e.g. GatherBlockQuantized on the app's wasm build); null otherwise.
 */
export function missingKernel(e: unknown): string | null {
  const message = e instanceof Error ? e.message : String(e);
  return /Could not find an implementation for (\w+)\(/.exec(message)?.[1] ?? null;
}

/** Classify a runtime failure into a ModelError. */
export function classifyError(e: unknown, context: string): ModelError {
  if (e instanceof ModelError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const lower = message.toLowerCase();
  if (
    e instanceof RangeError ||
    lower.includes('out of memory') ||
    lower.includes('bad_alloc') ||
    lower.includes('allocation failed') ||
    lower.includes('failed to allocate') ||
    lower.includes('outofmemory')
  ) {
    return new ModelError('out-of-memory', `${context}: out of memory (${message})`, { cause: e });
  }
  if (lower.includes('device') && lower.includes('lost')) {
    return new ModelError('device-lost', `${context}: WebGPU device lost (${message})`, {
      cause: e,
    });
  }
  return new ModelError('runtime', `${context}: ${message}`, { cause: e });
}
