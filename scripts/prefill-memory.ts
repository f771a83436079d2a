/**
 * npx tsx scripts/prefill-memory.ts DECODER.onnx [tokens]
 *
 * Peak memory of an 850-token prefill on a decoder WITHOUT num_logits_to_keep (the public hub
 * interface), in onnxruntime's CPU arithmetic (onnxruntime-node): once in one pass, as
 * transformers.js runs it (every position's logits come back), and once in chunks of 128 through
 * the KV cache keeping the last row, as the app runs it (src/model/chunks.ts). Each in its own
 * process, so each peak RSS (getrusage maxrss) is its own. Make a 2B-shaped decoder first:
 *   python3 scripts/export/random_decoder.py --out /tmp/dec2b --dtype q4
 */
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { prefillChunks } from '../src/model/chunks';

const [, script, model, tokensArg, mode] = process.argv;
const tokens = Number(tokensArg ?? 850);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function child(path: string, n: number, chunked: boolean) {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
  const meta = s.inputMetadata as readonly { name: string; shape?: readonly (number | string)[] }[];
  const hidden = Number(meta.find((m) => m.name === 'inputs_embeds')?.shape?.[2]);
  const cache = meta.filter((m) => m.name.startsWith('past_key_values.'));
  const loaded = process.memoryUsage().rss;
  let seed = 1;
  const embeds = Float32Array.from(
    { length: n * hidden },
    () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5,
  );
  let past: Record<string, ort.Tensor> = {};
  for (const m of cache)
    past[m.name] = new ort.Tensor('float32', new Float32Array(0), [
      1,
      Number(m.shape?.[1]),
      0,
      Number(m.shape?.[3]),
    ]);
  const t0 = performance.now();
  let logitsBytes = 0;
  for (const c of chunked ? prefillChunks(n, 1) : [{ start: 0, length: n, keep: 1 }]) {
    const pos = new BigInt64Array(3 * c.length);
    for (let r = 0; r < 3; r++)
      for (let i = 0; i < c.length; i++) pos[r * c.length + i] = BigInt(c.start + i);
    const out = await s.run({
      inputs_embeds: new ort.Tensor(
        'float32',
        embeds.subarray(c.start * hidden, (c.start + c.length) * hidden),
        [1, c.length, hidden],
      ),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(c.start + c.length).fill(1n), [
        1,
        c.start + c.length,
      ]),
      position_ids: new ort.Tensor('int64', pos, [3, 1, c.length]),
      ...past,
    });
    logitsBytes = Math.max(
      logitsBytes,
      ((out['logits'] as ort.Tensor).data as Float32Array).byteLength,
    );
    past = {};
    for (const [k, v] of Object.entries(out))
      if (k.startsWith('present.')) past[k.replace('present.', 'past_key_values.')] = v;
  }
  const ms = performance.now() - t0;
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      chunked,
      tokens: n,
      loadedRss: loaded,
      peakRss: peak,
      largestLogits: logitsBytes,
      ms: Math.round(ms),
    }),
  );
}

if (mode === 'one' || mode === 'chunks') {
  await child(model as string, tokens, mode === 'chunks');
} else {
  if (!model) throw new Error('usage: tsx scripts/prefill-memory.ts DECODER.onnx [tokens]');
  const rows = [];
  for (const m of ['one', 'chunks']) {
    const r = spawnSync('npx', ['tsx', script as string, model, String(tokens), m], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr);
    rows.push(
      JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
        chunked: boolean;
        loadedRss: number;
        peakRss: number;
        largestLogits: number;
        ms: number;
      },
    );
  }
  for (const r of rows) {
    console.log(
      `${r.chunked ? 'chunks of 128' : 'one pass     '}: RSS after load ${mib(r.loadedRss)}, peak ${mib(r.peakRss)} (+${mib(r.peakRss - r.loadedRss)} for the prefill), largest logits tensor ${mib(r.largestLogits)}, ${r.ms} ms`,
    );
  }
}
