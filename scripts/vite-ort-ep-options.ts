/**
 * A build-time transform of onnxruntime-web's bundle: its WebGPU EP options pass a fixed list of keys
 * to the runtime (enableGraphCapture, preferredLayout, forceCpuNodeNames, validationMode,
 * enableMatmulFp32Accumulation, the four buffer cache modes), and the C++ EP reads more when it
 * creates its device context, among them `maxNumPendingDispatches` (dispatches encoded before a
 * submit; onnxruntime's default 16: a 2B decode step of 221 dispatches is 17 submits). Session
 * `extra` config entries come too late (the context is made when the EP is appended). This adds one
 * key, passed the way the listed ones are, after `validationMode`. It fails the build if the pattern is
 * gone (a new onnxruntime-web), rather than silently dropping the option.
 */
import type { Plugin } from 'vite';

const FILE = /onnxruntime-web\/dist\/ort\.[\w.]*\.mjs$/;
// `X.validationMode&&F(L,"validationMode",X.validationMode,S),` in the minified bundles;
// `if (X.validationMode) {\n F(L, "validationMode", X.validationMode, S);\n }` in the plain ones.
const MINIFIED = /(\w+)\.validationMode&&(\w+)\((\w+),"validationMode",\1\.validationMode,(\w+)\),/;
const PLAIN =
  /if \((\w+)\.validationMode\) \{\s*(\w+)\((\w+), "validationMode", \1\.validationMode, (\w+)\);\s*\}/;

export const PENDING_DISPATCHES_KEY = 'maxNumPendingDispatches';

export function patchOrtEpOptions(code: string, id: string): string {
  const add = (o: string, f: string, l: string, s: string) =>
    `typeof ${o}.${PENDING_DISPATCHES_KEY}=="number"&&${f}(${l},"${PENDING_DISPATCHES_KEY}",String(${o}.${PENDING_DISPATCHES_KEY}),${s});`;
  if (!code.includes('"validationMode"')) return code; // a bundle without the WebGPU EP (wasm only)
  const m = MINIFIED.exec(code);
  if (m) {
    const [all, o, f, l, s] = m as unknown as [string, string, string, string, string];
    return code.replace(all, `${all}${add(o, f, l, s).replace(/;$/, ',')}`);
  }
  const p = PLAIN.exec(code);
  if (p) {
    const [all, o, f, l, s] = p as unknown as [string, string, string, string, string];
    return code.replace(all, `${all}\n${add(o, f, l, s)}`);
  }
  throw new Error(
    `${id}: onnxruntime-web's WebGPU EP options changed; update scripts/vite-ort-ep-options.ts`,
  );
}

export function ortEpOptions(): Plugin {
  return {
    name: 'seedbench-ort-ep-options',
    enforce: 'pre',
    transform(code, id) {
      if (!FILE.test(id.split('?')[0] ?? '')) return null;
      const out = patchOrtEpOptions(code, id);
      return out === code ? null : { code: out, map: null };
    },
  };
}
