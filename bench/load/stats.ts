// Small numeric helpers for the load benchmark: percentiles and fixed-width cells.

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** A number with `digits` decimals, right-aligned in `width` characters ('-' for NaN). */
export function cell(x: number, width: number, digits = 1): string {
  return (Number.isFinite(x) ? x.toFixed(digits) : '-').padStart(width);
}

/** A JSON-friendly number: rounded to 0.1, null when not finite. */
export function round1(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 10) / 10 : null;
}
