/**
 * npx tsx scripts/check-tiny-model.ts
 *
 * Loads models/tiny-random-qwen2-vl with transformers.js in Node (onnxruntime-node, CPU), builds the
 * still-only reference question with the model's own chat template, tokenizer and image processor,
 * runs one forward pass per committed dtype and compares the last-position logits with
 * e2e/fixtures/reference/still-sample5.json (PyTorch, and onnxruntime-python on the same graphs).
 * Needs the tokenizer: run `npm run models:tokenizer` first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AutoProcessor,
  Qwen2VLForConditionalGeneration,
  RawImage,
  Tensor,
  env,
} from '@huggingface/transformers';

interface DtypeResult {
  top20: [number, number][];
  letter_logprobs: Record<string, number>;
  logits_at_ids: number[];
  files?: Record<string, string>;
  files_committed?: boolean;
}
interface Fixture {
  case_id: string;
  question: string;
  choices: string[];
  prompt_text: string;
  input_ids: number[];
  still_252_png: string;
  pixel_values: { rows_first64: Record<string, number[]>; row_indices: Record<string, number> };
  letter_token_ids: Record<string, number>;
  logit_ids: number[];
  pytorch: DtypeResult;
  onnx: Record<string, DtypeResult>;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODEL_ID = 'tiny-random-qwen2-vl';
const SUFFIX =
  ' Output the thinking process in <think> </think> and final answer in <answer> </answer> tags, i.e., <think> reasoning process here </think><answer> answer here </answer>. ';
// Same graphs as onnxruntime-python used for the fixture; embed_tokens has no 4-bit file.
const DTYPES = {
  fp32: { embed_tokens: 'fp32', vision_encoder: 'fp32', decoder_model_merged: 'fp32' },
  q8: { embed_tokens: 'q8', vision_encoder: 'q8', decoder_model_merged: 'q8' },
  q4: { embed_tokens: 'fp32', vision_encoder: 'q4', decoder_model_merged: 'q4' },
} as const;
// fp32: the same graph in onnxruntime-node vs onnxruntime-python, and pixel values from the same
// 252x252 PNG, should agree to float rounding (~1e-5); 1e-3 leaves room for kernel differences.
const FP32_TOLERANCE = 1e-3;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}

function compare(last: Float32Array, ref: DtypeResult, fx: Fixture) {
  const topIds = ref.top20.map(([id]) => id);
  const top = maxAbsDiff(
    topIds.map((id) => last[id]!),
    ref.top20.map(([, v]) => v),
  );
  const sampled = maxAbsDiff(
    fx.logit_ids.map((id) => last[id]!),
    ref.logits_at_ids,
  );
  let max = -Infinity;
  for (const v of last) max = Math.max(max, v);
  let sum = 0;
  for (const v of last) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  const letters = maxAbsDiff(
    Object.values(fx.letter_token_ids).map((id) => last[id]! - lse),
    Object.keys(fx.letter_token_ids).map((k) => ref.letter_logprobs[k]!),
  );
  let argmax = 0;
  for (let i = 1; i < last.length; i++) if (last[i]! > last[argmax]!) argmax = i;
  return { top20: top, sampled, letters, argmaxMatches: argmax === topIds[0] };
}

async function main() {
  if (!existsSync(join(root, 'models', MODEL_ID, 'tokenizer.json'))) {
    throw new Error(
      'models/tiny-random-qwen2-vl/tokenizer.json missing: run npm run models:tokenizer',
    );
  }
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = join(root, 'models') + '/';
  const fixtureDir = join(root, 'e2e', 'fixtures', 'reference');
  const fx = JSON.parse(readFileSync(join(fixtureDir, 'still-sample5.json'), 'utf8')) as Fixture;

  const processor = await AutoProcessor.from_pretrained(MODEL_ID);
  const text =
    fx.question + '\n' + fx.choices.map((c, i) => `${'ABCD'[i]}. ${c}\n`).join('') + SUFFIX;
  const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text }] }];
  const prompt = processor.apply_chat_template(messages, { add_generation_prompt: true }) as string;
  console.log(
    `chat template (transformers.js) equals the fixture's prompt: ${prompt === fx.prompt_text}`,
  );
  const image = await RawImage.read(join(fixtureDir, fx.still_252_png));
  const inputs = (await processor(prompt, image)) as { input_ids: Tensor; pixel_values: Tensor };
  const ids = Array.from(inputs.input_ids.data as BigInt64Array, Number);
  const idsMatch = ids.length === fx.input_ids.length && ids.every((v, i) => v === fx.input_ids[i]);
  console.log(`input_ids (${ids.length}) equal the fixture's: ${idsMatch}`);
  const pv = inputs.pixel_values;
  const cols = pv.dims[1]!;
  let pvDiff = 0;
  for (const [name, row] of Object.entries(fx.pixel_values.row_indices)) {
    const got = (pv.data as Float32Array).subarray(row * cols, row * cols + 64);
    pvDiff = Math.max(pvDiff, maxAbsDiff(got, fx.pixel_values.rows_first64[name]!));
  }
  console.log(
    `pixel_values ${JSON.stringify(pv.dims)}: max |diff| on sampled rows ${pvDiff.toExponential(2)}`,
  );

  const rows: string[] = [];
  let ok = idsMatch;
  for (const [name, dtype] of Object.entries(DTYPES)) {
    const model = await Qwen2VLForConditionalGeneration.from_pretrained(MODEL_ID, {
      dtype,
      device: 'cpu',
    });
    const out = (await model({ ...inputs })) as { logits: Tensor };
    const [, seq, vocab] = out.logits.dims as [number, number, number];
    const last = (out.logits.data as Float32Array).slice((seq - 1) * vocab, seq * vocab);
    const vsOnnx = compare(last, fx.onnx[name]!, fx);
    const vsTorch = compare(last, fx.pytorch, fx);
    rows.push(
      `| ${name} | ${vsOnnx.top20.toExponential(2)} | ${vsOnnx.sampled.toExponential(2)} | ` +
        `${vsOnnx.letters.toExponential(2)} | ${vsOnnx.argmaxMatches} | ${vsTorch.top20.toExponential(2)} |`,
    );
    if (name === 'fp32' && Math.max(vsOnnx.top20, vsOnnx.sampled, vsTorch.top20) > FP32_TOLERANCE)
      ok = false;
    await model.dispose();
  }
  console.log(
    '\n| dtype | vs ORT-python: top-20 logits | 64 sampled logits | A-D log-probs | same argmax | vs PyTorch: top-20 logits |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  if (!ok) {
    console.error('\ncheck-tiny-model: FAILED (input_ids differ or fp32 logits beyond tolerance)');
    process.exit(1);
  }
  console.log('\ncheck-tiny-model: ok');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
