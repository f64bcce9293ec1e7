/** Percentiles of latency samples, for every benchmark. */

/** p50/p95 (and mean) in milliseconds, rounded to µs. */
export function summarize(samplesMs: number[]): { p50: number; p95: number; mean: number; n: number } {
  const s = [...samplesMs].sort((a, b) => a - b);
  const pick = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: round(pick(0.5)), p95: round(pick(0.95)), mean: round(s.reduce((a, b) => a + b, 0) / s.length), n: s.length };
}

/** Milliseconds fn took. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
