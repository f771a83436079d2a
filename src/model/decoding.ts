/** Decoding and scoring arithmetic over one row of logits. Pure, so Vitest covers it. */

/**
 * transformers' RepetitionPenaltyLogitsProcessor, in place: every token id already present
 * (prompt included) has its logit divided by the penalty when positive, multiplied when negative.
 */
export function applyRepetitionPenalty(
  logits: Float32Array,
  seen: Iterable<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  for (const id of seen) {
    const x = logits[id];
    if (x === undefined) continue;
    logits[id] = x < 0 ? x * penalty : x / penalty;
  }
}

/** Index of the largest value; the first on ties (torch.argmax's rule). NaN never wins. */
export function argmax(values: Iterable<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  let i = 0;
  for (const v of values) {
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
    i++;
  }
  return best;
}

/** log(sum(exp(x))) computed stably in float64. */
export function logSumExp(values: Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** log_softmax(values)[id] for each id. */
export function logProbs(
  values: Iterable<number> & ArrayLike<number>,
  ids: readonly number[],
): number[] {
  const lse = logSumExp(values);
  // An id outside the vocabulary has no logit: NaN says so in the result.
  return ids.map((id) => (values[id] ?? NaN) - lse);
}

/** The k largest (id, value) pairs, largest first; ties by lower id. */
export function topK(values: Iterable<number>, k: number): { id: number; logit: number }[] {
  const out: { id: number; logit: number }[] = [];
  let i = -1;
  for (const v of values) {
    i++;
    const last = out[k - 1];
    if (out.length === k && last && v <= last.logit) continue;
    let j = out.length;
    while (j > 0 && (out[j - 1]?.logit ?? Infinity) < v) j--;
    out.splice(j, 0, { id: i, logit: v });
    if (out.length > k) out.pop();
  }
  return out;
}

/**
 * Mean negative log-likelihood per token: rows[i] is the logits row that predicts targets[i].
 * `rows` is a [n, vocab] buffer.
 */
export function meanNll(rows: Float32Array, vocab: number, targets: readonly number[]): number {
  if (targets.length === 0) throw new Error('meanNll: no target tokens');
  if (rows.length < targets.length * vocab)
    throw new Error('meanNll: fewer logits rows than targets');
  let total = 0;
  for (const [i, target] of targets.entries()) {
    const row = rows.subarray(i * vocab, (i + 1) * vocab);
    total -= (row[target] ?? NaN) - logSumExp(row);
  }
  return total / targets.length;
}

/** Length of the common prefix of two token sequences. */
export function commonPrefix(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
