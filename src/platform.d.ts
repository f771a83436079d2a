// Platform APIs that TypeScript's DOM and WebWorker libs leave out. Chromium has them; every use
// checks that they are there (other browsers may lack them).

interface Window {
  /** File System Access API. */
  showDirectoryPicker?: () => Promise<FileSystemDirectoryHandle>;
}

interface FileSystemHandle {
  /** File System Access API: asked again after a reload (needs a user gesture). */
  requestPermission?: (descriptor: { mode: 'read' | 'readwrite' }) => Promise<PermissionState>;
}

interface Performance {
  /** Chromium's non-standard heap numbers. */
  readonly memory?: { usedJSHeapSize?: number };
}
