/** Deterministic random subsets, so a "random 100 with seed 7" run can be repeated exactly. */

/** mulberry32: a small, well-mixed 32-bit PRNG; same seed, same sequence in every browser. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` items drawn without replacement (partial Fisher-Yates), kept in their original order. */
export function randomSubset<T>(items: readonly T[], count: number, seed: number): T[] {
  if (count >= items.length) return [...items];
  const rand = seededRandom(seed);
  const idx = items.map((_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rand() * (idx.length - i));
    const a = idx[i] ?? i;
    idx[i] = idx[j] ?? j;
    idx[j] = a;
  }
  const picked = new Set(idx.slice(0, count));
  return items.filter((_, i) => picked.has(i));
}
