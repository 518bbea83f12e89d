/** Small statistics for reporting several runs. */

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** (max − min) / median: how far apart the runs were. */
  relativeRange: number;
  runs: number[];
}

export function spread(values: number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  const m = median(finite);
  const min = finite.length === 0 ? Number.NaN : Math.min(...finite);
  const max = finite.length === 0 ? Number.NaN : Math.max(...finite);
  return { median: m, min, max, relativeRange: (max - min) / m, runs: values };
}
