import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { graphProblem } from './graph-check';

const DIR = new URL('../../models/tiny-random-qwen2-vl/onnx/', import.meta.url);
const graphs = readdirSync(DIR).filter((f) => f.endsWith('.onnx'));

describe('graphProblem (which .onnx behind "protobuf parsing failed")', () => {
  it.each(graphs)('%s: whole, no problem; cut anywhere, cut short', async (name) => {
    const bytes = readFileSync(new URL(name, DIR));
    expect(await graphProblem(new Blob([bytes]))).toBeNull();
    for (const keep of [0.1, 0.5, 0.999].map((f) => Math.floor(bytes.length * f))) {
      expect(await graphProblem(new Blob([bytes.subarray(0, keep)]))).toMatch(/^is cut short/);
    }
  });

  it('a cut that falls exactly after the graph field is still cut short (no opset imports)', async () => {
    // ir_version 8 (field 1), a 2-byte graph (field 7), one opset import (field 8): whole fields only.
    const whole = Uint8Array.from([0x08, 0x08, 0x3a, 0x02, 0x0a, 0x00, 0x42, 0x02, 0x10, 0x11]);
    expect(await graphProblem(new Blob([whole]))).toBeNull();
    expect(await graphProblem(new Blob([whole.subarray(0, 6)]))).toMatch(
      /^is cut short \(6 bytes; it ends without its opset imports/,
    );
  });

  it('a cut that falls between two opset imports is still cut short (a node domain without one)', async () => {
    // One com.microsoft node (NodeProto.domain, field 7) in the graph (field 7), then the imports of
    // the default domain and of com.microsoft (field 8): the tiny q4 step graph cut at 99.9% ends so.
    const ms = [...new TextEncoder().encode('com.microsoft')];
    const node = [0x3a, ms.length, ...ms];
    const graph = [0x0a, node.length, ...node];
    const onnx = [0x42, 0x02, 0x10, 0x11];
    const contrib = [0x42, ms.length + 4, 0x0a, ms.length, ...ms, 0x10, 0x01];
    const whole = Uint8Array.from([0x08, 0x08, 0x3a, graph.length, ...graph, ...onnx, ...contrib]);
    expect(await graphProblem(new Blob([whole]))).toBeNull();
    const cut = whole.subarray(0, whole.length - contrib.length);
    expect(await graphProblem(new Blob([cut]))).toMatch(
      /^is cut short \(\d+ bytes; it ends without the opset import of its com\.microsoft nodes/,
    );
  });

  it('names what is not a graph at all', async () => {
    expect(await graphProblem(new Blob([]))).toBe('is empty');
    const lfs = 'version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9785709\n';
    expect(await graphProblem(new Blob([lfs]))).toMatch(
      /^is not an ONNX graph \(it starts with "version https/,
    );
    expect(await graphProblem(new Blob(['<!doctype html><p>404']))).toMatch(
      /^is not an ONNX graph/,
    );
  });
});
