import { describe, expect, it } from 'vitest';
import { isolationStep, type IsolationView } from './isolation';

const base: IsolationView = {
  isolated: false,
  controlled: false,
  workerActive: false,
  reloadTried: false,
};

describe('isolation steps', () => {
  it('leave an isolated page alone, whoever sent the headers', () => {
    expect(isolationStep({ ...base, isolated: true })).toBe('isolated');
    expect(isolationStep({ ...base, isolated: true, reloadTried: true })).toBe('isolated');
  });
  it('wait for the first service worker, then reload once', () => {
    expect(isolationStep(base)).toBe('wait');
    expect(isolationStep({ ...base, controlled: true, workerActive: true })).toBe('reload');
    // A hard reload bypasses an active worker: a normal reload brings it back.
    expect(isolationStep({ ...base, workerActive: true })).toBe('reload');
  });
  it('never reload twice: a browser that refuses isolation runs single-threaded', () => {
    expect(
      isolationStep({ ...base, controlled: true, workerActive: true, reloadTried: true }),
    ).toBe('give-up');
    expect(isolationStep({ ...base, workerActive: true, reloadTried: true })).toBe('give-up');
  });
});
