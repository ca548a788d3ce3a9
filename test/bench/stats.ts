/** Order statistics for benchmark samples: exact (nearest-rank) percentiles and the median. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] as number;
}

export const median = (samples: number[]) => percentile(samples, 0.5);

/** Rounds for display and for result files: 3 significant digits is what these machines support. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}
