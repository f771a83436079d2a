import { z } from 'zod';
import { indexMediaPaths, readJsonFile, type MediaIndex } from '../bench/index';

/** A folder of clips and stills the run reads from, whatever way the user gave it. */
export interface MediaLibrary {
  /** Shown to the user and stored with the run ("egoplan-bench2-examples (12 files)"). */
  label: string;
  kind: 'directory' | 'files' | 'served';
  keys: string[];
  index: MediaIndex;
  open(key: string): Promise<Blob>;
  /** The picked directory (File System Access API), kept so a stored run can reopen it. */
  handle?: FileSystemDirectoryHandle;
}

const MEDIA_FILE = /\.(mp4|webm|mkv|mov|avi|png|jpe?g|webp)$/i;

function library(
  label: string,
  kind: MediaLibrary['kind'],
  keys: string[],
  open: (k: string) => Promise<Blob>,
): MediaLibrary {
  const media = keys.filter((k) => MEDIA_FILE.test(k));
  return {
    label: `${label} (${media.length} files)`,
    kind,
    keys: media,
    index: indexMediaPaths(media),
    open,
  };
}

/** From `<input webkitdirectory>` or a drop of files: keys are the relative paths. */
export function libraryFromFiles(files: ArrayLike<File>, label?: string): MediaLibrary {
  const byKey = new Map<string, File>();
  for (const f of Array.from(files)) {
    // Set by <input webkitdirectory>; empty for files dropped or picked one by one.
    const rel = f.webkitRelativePath || f.name;
    byKey.set(rel, f);
  }
  const first = [...byKey.keys()][0]?.split('/')[0] ?? 'files';
  return library(label ?? first, 'files', [...byKey.keys()], (k) => {
    const f = byKey.get(k);
    return f ? Promise.resolve(f) : Promise.reject(new Error(`${k}: not in the picked folder`));
  });
}

/** From the File System Access API: walks the folder (skipping dot folders) once. */
export async function libraryFromDirectory(dir: FileSystemDirectoryHandle): Promise<MediaLibrary> {
  const handles = new Map<string, FileSystemFileHandle>();
  async function walk(d: FileSystemDirectoryHandle, prefix: string, depth: number) {
    for await (const h of d.values()) {
      if (h.name.startsWith('.')) continue;
      if (h instanceof FileSystemDirectoryHandle) {
        if (depth < 4) await walk(h, `${prefix}${h.name}/`, depth + 1);
      } else if (h instanceof FileSystemFileHandle) handles.set(`${prefix}${h.name}`, h);
    }
  }
  await walk(dir, '', 0);
  const lib = library(dir.name, 'directory', [...handles.keys()], async (k) => {
    const h = handles.get(k);
    if (!h) throw new Error(`${k}: not in ${dir.name}`);
    return h.getFile();
  });
  return { ...lib, handle: dir };
}

const listing = z.object({ files: z.array(z.string()) });

/**
 * The demo clips served beside the page in demo-videos/, listed by its index.json (the local
 * servers make both, scripts/vite-local-assets.ts; a static host gets them from scripts/add-clips.ts),
 * or another served folder (the CLI's --videos), named `label` in messages ("missing file x (not
 * in <label>)").
 */
export async function libraryFromServer(
  base = 'demo-videos/',
  label = 'demo clips (served with the app)',
): Promise<MediaLibrary | null> {
  try {
    const res = await fetch(`${base}index.json`);
    if (!res.ok) return null;
    const { files } = readJsonFile(`${base}index.json`, await res.text(), listing);
    return library(label, 'served', files, async (k) => {
      const r = await fetch(`${base}${k.split('/').map(encodeURIComponent).join('/')}`);
      if (!r.ok) throw new Error(`${k}: HTTP ${r.status}`);
      return r.blob();
    });
  } catch {
    return null;
  }
}
