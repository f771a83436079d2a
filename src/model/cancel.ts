/** Cancelling a question: an AbortSignal and/or a flag shared with the UI thread. */
import type { RunHooks } from './types';
import { ModelError } from './types';

export type CancelCheck = () => boolean;

/**
 * Cancellation: an AbortSignal, and/or a shared Int32Array flag that the UI thread sets with
 * Atomics (seen at once even while the worker never returns to its event loop).
 */
export function cancelCheck(hooks: Pick<RunHooks, 'signal' | 'cancelFlag'>): CancelCheck {
  const { signal, cancelFlag } = hooks;
  return () =>
    (signal?.aborted ?? false) || (cancelFlag !== null && Atomics.load(cancelFlag, 0) !== 0);
}

/** Let queued messages (a cancel) run: ORT's async runs may resolve without leaving the task. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

export function checkCancelled(cancelled: CancelCheck, where: string): void {
  if (cancelled()) throw new ModelError('cancelled', `cancelled ${where}`);
}
