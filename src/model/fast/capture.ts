/**
 * Graph capture (enableGraphCapture) with onnxruntime-web 1.31.0-dev.20260914's JS layer.
 *
 * With graph capture, onnxruntime-web binds a session's inputs and outputs once, in its first run,
 * and replays the captured command list in every later run: the same GPU buffers and shapes every
 * time (so the decode session is separate from the prefill one). Its JS layer, however, also
 * unregisters every external GPU buffer at the end of each run; the bound tensors of the first run
 * then point at released buffer handles, and the second run fails while reading its outputs back
 * ("Cannot set properties of undefined (setting 'Symbol(gpuBufferMetadata)')"). onnxruntime-web
 * keeps its own output buffers registered for good by giving them a NaN reference count; `pinned`
 * does the same for ours during the capture run: it finds the registration record (an own symbol
 * property of the GPUBuffer holding [handle, count]) while the run submits its work and sets the
 * count to NaN, so the handles the capture bound stay valid. Checked here: all buffers pinned, else
 * the caller does not use the captured session.
 */
import type { GpuBuffer, GpuDevice } from './gpu';

export async function pinned<T>(
  device: GpuDevice,
  buffers: readonly GpuBuffer[],
  run: () => Promise<T>,
): Promise<{ result: T; pinned: number }> {
  const ours = new Set(buffers);
  const done = new Set<GpuBuffer>();
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  const pin = () => {
    for (const b of ours) {
      if (done.has(b)) continue;
      for (const s of Object.getOwnPropertySymbols(b)) {
        const record = (b as unknown as Record<symbol, unknown>)[s];
        if (Array.isArray(record) && record.length === 2 && typeof record[1] === 'number') {
          record[1] = NaN;
          done.add(b);
        }
      }
    }
  };
  queue.submit = (cmds: unknown[]) => {
    pin();
    submit(cmds);
  };
  try {
    const result = await run();
    return { result, pinned: done.size };
  } finally {
    queue.submit = submit;
  }
}
