// Expected outputs of the fast graphs (models/tiny-random-qwen2-vl/onnx/*_fast*.onnx) on
// onnxruntime's CPU kernels (onnxruntime-node), for the browser tests' committed cases:
//   npx tsx scripts/fast-fixtures.ts     -> e2e/fixtures/fast/<case>.json
// Inputs are made exactly as the browser harness makes them (the committed PNGs, decoded to RGB by
// ffmpeg, resized by the app's own src/video resizers, patchified by src/model/pixels). Each result
// is compared with the committed reference fixture (onnxruntime on the reference graphs, from the
// processor's pixels) and the comparison is stored beside it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { logProbs, topK, applyRepetitionPenalty, argmax } from '../src/model/decoding';
import { FastOrt, ortNodeVersion } from './fast-ort';
import { fixtureVisuals as visuals } from './fixture-visuals';

const ROOT = resolve(import.meta.dirname, '..');
const MODEL = `${ROOT}/models/tiny-random-qwen2-vl`;
const FIX = `${ROOT}/e2e/fixtures/reference`;
const OUT = `${ROOT}/e2e/fixtures/fast`;
const NEW_TOKENS = 32;
const CAPACITY = 1024;
const STOPS = [151645, 151643];

interface Fx {
  case_id: string;
  clip: string | null;
  indices?: number[];
  still_252_png: string;
  input_ids: number[];
  image_grid_thw: number[][];
  video_grid_thw?: number[][];
  letter_token_ids: Record<string, number>;
  onnx: Record<string, { top20: [number, number][]; greedy_ids: number[] }>;
}

function summary(logits: Float32Array, letters: Record<string, number>) {
  const lp = logProbs(logits, Object.values(letters));
  return {
    top20: topK(logits, 20).map((x) => [x.id, Number(x.logit.toPrecision(6))] as [number, number]),
    letter_logprobs: Object.fromEntries(
      Object.keys(letters).map((k, i) => [k, Number((lp[i] as number).toPrecision(6))]),
    ),
  };
}

type Variant = 'fp32' | 'q4' | 'q8' | 'q4a8';

async function runFast(fx: Fx, variant: Variant) {
  const dtype = variant === 'q4a8' ? 'q4' : variant;
  const fast = await FastOrt.create({
    modelDir: MODEL,
    dtype,
    threads: 2,
    capacity: CAPACITY,
    int8: variant === 'q4a8',
  });
  const v = visuals(fx);
  const ids = fx.input_ids;
  const r = await fast.run({
    inputIds: ids,
    clip: v.clip,
    still: v.still,
    newTokens: NEW_TOKENS,
    stops: STOPS,
  });
  await fast.release();
  // The graph's penalty + argmax equals the CPU rule on its own logits (checked on the first step).
  const cpu = Float32Array.from(r.firstLogits);
  applyRepetitionPenalty(cpu, new Set(ids), 1.05);
  if (argmax(cpu) !== r.outputIds[0])
    throw new Error(`${fx.case_id} ${dtype}: graph argmax ${r.outputIds[0]} != CPU ${argmax(cpu)}`);
  return { ...summary(r.firstLogits, fx.letter_token_ids), greedy_ids: r.outputIds };
}

mkdirSync(OUT, { recursive: true });
for (const id of ['still-sample5', 'clip-f71fb12c']) {
  const fx = JSON.parse(readFileSync(`${FIX}/${id}.json`, 'utf8')) as Fx;
  const entry: Record<string, unknown> = {
    case_id: id,
    made_by:
      'scripts/fast-fixtures.ts: onnxruntime-node (CPU) on the fast graphs, inputs as the browser harness makes them',
    onnxruntime_node: ortNodeVersion(),
    new_tokens: NEW_TOKENS,
  };
  // q4a8: the q4 graphs with int8 activations (onnxruntime accuracy_level 4), against the exact q4 fixture.
  for (const dtype of ['fp32', 'q4', 'q8', 'q4a8'] as const) {
    const r = await runFast(fx, dtype);
    const ref = fx.onnx[dtype === 'q4a8' ? 'q4' : dtype];
    const diff = ref
      ? Math.max(
          ...ref.top20.map(([tid, v]) =>
            Math.abs((r.top20.find(([i]) => i === tid)?.[1] ?? Infinity) - v),
          ),
        )
      : null;
    const same = ref
      ? r.greedy_ids.slice(0, ref.greedy_ids.length).every((x, i) => x === ref.greedy_ids[i])
      : null;
    console.log(
      `${id} ${dtype}: top-20 max |diff| vs the reference graphs' onnxruntime fixture ${diff?.toExponential(2)}, greedy ${same ? 'equal' : 'DIFFER'}`,
    );
    entry[dtype] = { ...r, vs_reference_fixture: { top20_max_abs_diff: diff, greedy_equal: same } };
  }
  writeFileSync(`${OUT}/${id}.json`, JSON.stringify(entry, null, 1) + '\n');
}
