/**
 * Cross-origin isolation without server headers (the coi-serviceworker idea): the service worker
 * adds the headers to what it serves, so a page it controls is isolated, and a page loaded before
 * it took control reloads once. What to do next, from what the page sees:
 */
export type IsolationStep =
  /** Isolated: multithreaded wasm works. */
  | 'isolated'
  /** Not controlled by a service worker yet: wait for it to take control. */
  | 'wait'
  /** Controlled (or one is active, after a hard reload bypassed it) but not isolated: reload once. */
  | 'reload'
  /** A reload was tried already and the page is still not isolated: run single-threaded. */
  | 'give-up';

export interface IsolationView {
  isolated: boolean;
  /** A service worker controls this page. */
  controlled: boolean;
  /** The registration has an active worker (it may not control a hard-reloaded page). */
  workerActive: boolean;
  /** This tab already reloaded for isolation (sessionStorage), so a second reload cannot help. */
  reloadTried: boolean;
}

export function isolationStep(v: IsolationView): IsolationStep {
  if (v.isolated) return 'isolated';
  if (!v.controlled && !v.workerActive) return 'wait';
  // Never a second reload: that is how reload loops start when the browser refuses isolation.
  return v.reloadTried ? 'give-up' : 'reload';
}
