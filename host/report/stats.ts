/** Small statistics for RTO/RPO figures: percentiles (nearest rank) and equal-width histograms. */

/** Nearest-rank percentile (p in 0..100) of xs; NaN for an empty list. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export interface Bin {
  lo: number;
  hi: number;
  count: number;
}

/** `bins` equal-width bins from min to max (one bin when all values are equal). */
export function histogram(xs: number[], bins: number): Bin[] {
  if (!xs.length) return [];
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  if (hi === lo) return [{ lo, hi, count: xs.length }];
  const w = (hi - lo) / bins;
  const out: Bin[] = Array.from({ length: bins }, (_, i) => ({ lo: lo + i * w, hi: lo + (i + 1) * w, count: 0 }));
  for (const x of xs) out[Math.min(bins - 1, Math.floor((x - lo) / w))].count++;
  return out;
}

export interface Summary {
  count: number;
  median: number;
  p95: number;
  max: number;
}

export function summarize(xs: number[]): Summary {
  return { count: xs.length, median: percentile(xs, 50), p95: percentile(xs, 95), max: xs.length ? Math.max(...xs) : NaN };
}
