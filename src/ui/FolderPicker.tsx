/**
 * Two ways to pick a folder: the File System Access API (a handle that can be kept and reopened,
 * where the browser has it) and `<input webkitdirectory>` (every browser; files only).
 */
export function FolderPicker({
  what,
  pickText,
  onHandle,
  onFiles,
}: {
  /** Accessible name of the file input, e.g. "Video folder". */
  what: string;
  pickText: string;
  onHandle: (handle: FileSystemDirectoryHandle) => void;
  onFiles: (files: FileList) => void;
}) {
  const pick = async () => {
    try {
      const handle = await window.showDirectoryPicker?.();
      if (handle) onHandle(handle);
    } catch {
      /* the user closed the picker */
    }
  };
  return (
    <>
      {window.showDirectoryPicker && (
        <button type="button" onClick={() => void pick()}>
          {pickText}
        </button>
      )}
      <label className="file-button">
        Choose folder
        <input
          type="file"
          aria-label={what}
          // @ts-expect-error: webkitdirectory is a non-standard attribute every browser supports
          webkitdirectory=""
          multiple
          onChange={(e) => {
            if (e.target.files && e.target.files.length > 0) onFiles(e.target.files);
          }}
        />
      </label>
    </>
  );
}
