import type { FileServer } from './files';
import { ModelError } from './types';

/**
 * Names the broken graph behind onnxruntime's "protobuf parsing failed", which never says which
 * file it was given. An .onnx file is one protobuf message (ModelProto): a sequence of
 * (key, value) fields. Walking its top-level fields needs a few bytes per field (the graph is one
 * field whose length is written before it), so even a 2 GB graph is checked with a dozen small
 * reads (and two per node, for the domains its opset imports must cover): a field that runs past
 * the end means the file was cut short.
 */
export async function graphProblem(blob: Blob): Promise<string | null> {
  const size = blob.size;
  if (size === 0) return 'is empty';
  let pos = 0;
  let graph: { start: number; end: number } | null = null;
  const opsets = new Set<string>();
  for (let n = 0; pos < size; n++) {
    if (n > 100_000) return 'is not an ONNX graph (too many top-level fields)';
    const head = new Uint8Array(await blob.slice(pos, pos + 20).arrayBuffer());
    const f = fieldAt(head, 0);
    if (f === 'not protobuf') return notOnnx(blob);
    if (f === 'cut') return cutShort(pos, size, Math.floor((varint(head, 0)?.value ?? 0) / 8));
    if (f.field === 0) return notOnnx(blob);
    const next = pos + f.next;
    if (next > size) return cutShort(pos, size, f.field, next - size);
    if (f.field === 7 && f.wire === 2) graph = { start: pos + f.start, end: next };
    if (f.field === 8 && f.wire === 2) {
      const opset = new Uint8Array(await blob.slice(pos + f.start, next).arrayBuffer());
      opsets.add(domainOf(opset, 1)); // OperatorSetIdProto.domain
    }
    pos = next;
  }
  if (!graph) return 'holds no graph (ModelProto field 7)';
  // A cut that falls exactly after the graph, or between two opset imports, leaves whole fields:
  // onnx writes the opset imports (field 8) after the graph, so a domain its nodes use without an
  // import is the sign.
  if (opsets.size === 0)
    return `is cut short (${size} bytes; it ends without its opset imports, ModelProto field 8): download or copy it again`;
  for (const domain of await nodeDomains(blob, graph))
    if (!opsets.has(domain))
      return `is cut short (${size} bytes; it ends without the opset import of its ${domain || 'ai.onnx'} nodes, ModelProto field 8): download or copy it again`;
  return null;
}

/** The field whose key starts at `at`: its number, wire type, and where its value starts and it
 * ends (offsets into `bytes`, possibly past its end); 'cut' if its key or length does not end. */
function fieldAt(
  bytes: Uint8Array,
  at: number,
): { field: number; wire: number; start: number; next: number } | 'cut' | 'not protobuf' {
  const key = varint(bytes, at);
  if (!key) return 'not protobuf';
  const field = Math.floor(key.value / 8);
  const wire = key.value % 8;
  if (wire === 0) {
    const v = varint(bytes, key.end);
    return v ? { field, wire, start: key.end, next: v.end } : 'cut';
  }
  if (wire === 1 || wire === 5)
    return { field, wire, start: key.end, next: key.end + (wire === 1 ? 8 : 4) };
  if (wire !== 2) return 'not protobuf';
  const len = varint(bytes, key.end);
  return len ? { field, wire, start: len.end, next: len.end + len.value } : 'cut';
}

const utf8 = new TextDecoder();
const DEFAULT_DOMAIN = new Set(['', 'ai.onnx']);

/** A message's domain string (its field `number`), '' for ONNX's default domain. */
function domainOf(message: Uint8Array, number: number): string {
  let domain = '';
  for (let at = 0; at < message.length;) {
    const f = fieldAt(message, at);
    if (typeof f === 'string' || f.next > message.length) break;
    if (f.field === number && f.wire === 2) domain = utf8.decode(message.subarray(f.start, f.next));
    at = f.next;
  }
  return DEFAULT_DOMAIN.has(domain) ? '' : domain;
}

/** The domains of the graph's nodes (GraphProto field 1; NodeProto.domain is field 7), read field
 * by field: initializers (inline weights) are skipped by their length. */
async function nodeDomains(
  blob: Blob,
  graph: { start: number; end: number },
): Promise<Set<string>> {
  const out = new Set<string>();
  for (let pos = graph.start; pos < graph.end;) {
    const f = fieldAt(new Uint8Array(await blob.slice(pos, pos + 20).arrayBuffer()), 0);
    if (typeof f === 'string') break;
    if (f.field === 1 && f.wire === 2)
      out.add(
        domainOf(new Uint8Array(await blob.slice(pos + f.start, pos + f.next).arrayBuffer()), 7),
      );
    pos += f.next;
  }
  return out;
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
