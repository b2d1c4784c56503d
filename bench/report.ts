import { performance } from "node:perf_hooks";

/** One line of the final table. */
export interface Row {
  /** What was measured, e.g. `parse 50,000-rule iptables-save (median)`. */
  readonly benchmark: string;
  /** The figure, with its unit. */
  readonly value: string;
  /** A comparison or a caveat, printed after the value. @default "" */
  readonly note?: string;
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` `runs` times and returns the median wall time in milliseconds. */
export function medianMs(runs: number, fn: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** Runs `fn` once and returns its result and its wall time in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - start };
}

/** A duration for people: `0.42 ms`, `41 ms`, `1.23 s`, `31 s`. */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** A count with thousands separators: `1,000`. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** A ratio of two durations: `62× slower`. */
export function formatRatio(slow: number, fast: number, word = "slower"): string {
  return `${Math.round(slow / fast).toLocaleString("en-US")}× ${word}`;
}

/** Prints rows as an aligned plain-text table. */
export function printTable(rows: readonly Row[]): void {
  const header: Row = { benchmark: "benchmark", value: "value", note: "" };
  const all = [header, ...rows];
  const w1 = Math.max(...all.map((r) => r.benchmark.length));
  const w2 = Math.max(...all.map((r) => r.value.length));
  for (const r of all) console.log(`${r.benchmark.padEnd(w1)}   ${r.value.padEnd(w2)}   ${r.note ?? ""}`.trimEnd());
}
