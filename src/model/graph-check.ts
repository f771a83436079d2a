import type { FileServer } from './files';
import { ModelError } from './types';

/**
 * Names the broken graph behind onnxruntime's "protobuf parsing failed", which never says which
 * file it was given. An .onnx file is one protobuf message (ModelProto): a sequence of
 * (key, value) fields. Walking its top-level fields needs a few bytes per field (the graph is one
 * field whose length is written before it), so even a 2 GB graph is checked with a dozen small
 * reads: a field that runs past the end means the file was cut short.
 */
export async function graphProblem(blob: Blob): Promise<string | null> {
  const size = blob.size;
  if (size === 0) return 'is empty';
  let pos = 0;
  let sawGraph = false;
  let sawOpsets = false;
  for (let fields = 0; pos < size; fields++) {
    if (fields > 100_000) return 'is not an ONNX graph (too many top-level fields)';
    const head = new Uint8Array(await blob.slice(pos, pos + 20).arrayBuffer());
    const key = varint(head, 0);
    if (!key) return notOnnx(blob);
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    let next: number;
    if (wire === 0) {
      const v = varint(head, key.end);
      if (!v) return cutShort(pos, size, field);
      next = pos + v.end;
    } else if (wire === 1 || wire === 5) next = pos + key.end + (wire === 1 ? 8 : 4);
    else if (wire === 2) {
      const len = varint(head, key.end);
      if (!len) return cutShort(pos, size, field);
      next = pos + len.end + len.value;
    } else return notOnnx(blob);
    if (field === 0) return notOnnx(blob);
    if (next > size) return cutShort(pos, size, field, next - size);
    if (field === 7) sawGraph = true;
    if (field === 8) sawOpsets = true;
    pos = next;
  }
  if (!sawGraph) return 'holds no graph (ModelProto field 7)';
  // A cut that falls exactly after the graph leaves whole fields: onnx writes the opset imports
  // (field 8, which every model needs) after it, so their absence is the sign.
  if (!sawOpsets)
    return `is cut short (${size} bytes; it ends without its opset imports, ModelProto field 8): download or copy it again`;
  return null;
}

/** A protobuf varint at `at` (value and the offset after it), or null when it does not end. */
function varint(bytes: Uint8Array, at: number): { value: number; end: number } | null {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i] ?? 0;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return { value, end: i + 1 };
  }
  return null;
}

function cutShort(pos: number, size: number, field: number, missing?: number): string {
  return `is cut short (${size} bytes; field ${field} at byte ${pos} runs past the end${missing ? ` by ${missing} bytes` : ''}): download or copy it again`;
}

async function notOnnx(blob: Blob): Promise<string> {
  const start = await blob.slice(0, 40).text();
  const text = /^[\x20-\x7e\s]+$/.test(start) ? ` (it starts with "${start.trim()}")` : '';
  return `is not an ONNX graph${text}`;
}

/**
 * The ModelError naming the first broken .onnx among `files` when session creation failed on a
 * parse error; null when none looks broken (the caller classifies the error as before).
 */
export async function brokenGraphError(
  e: unknown,
  server: FileServer,
  files: readonly string[],
): Promise<ModelError | null> {
  const message = e instanceof Error ? e.message : String(e);
  if (!/protobuf|failed to load model|parse/i.test(message)) return null;
  for (const file of files.filter((f) => f.endsWith('.onnx'))) {
    const blob = await server.read(file).catch(() => null);
    const problem = blob ? await graphProblem(blob) : null;
    if (problem) {
      return new ModelError('bad-file', `${server.label}: ${file} ${problem} (${message})`, {
        file,
        cause: e,
      });
    }
  }
  return null;
}
