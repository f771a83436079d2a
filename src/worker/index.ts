// The typed message protocol between the UI thread and the workers, and the clients the UI uses to
// talk to them. Each worker has its own protocol module; this entry point re-exports them.
export {};
export * from './model-client';
export type * from './model-protocol';
export * from './video-client';
export type * from './video-protocol';
