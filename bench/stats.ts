/**
 * Measurement helpers: an alternating runner (A B A B …, so that drift in machine load
 * hits every case alike), medians, spreads and the ratio of medians.
 */

/** A set of measurements of one quantity: median and spread (min–max over rounds). */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    min: s[0] ?? Number.NaN,
    max: s.at(-1) ?? Number.NaN,
    n: s.length,
  };
}

/** Median of A over median of B. */
export function ratio(a: Summary, b: Summary): number {
  return a.median / b.median;
}

/** Per-request latencies: p50 and p99 (ms). */
export function latency(ms: readonly number[]): { p50: number; p99: number; n: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), n: s.length };
}

/** What one run of a case reports: named rates or values, e.g. `{ pair: 812, enc: 2400 }`. */
export type Measures = Record<string, number>;

/**
 * Runs every case once per round, in the same order each round (A B C A B C …), after
 * one unrecorded warm-up round, and returns each case's measures over the rounds.
 */
export async function alternate<K extends string>(
  cases: Record<K, () => Promise<Measures>>,
  rounds: number,
): Promise<Record<K, Record<string, number[]>>> {
  const names = Object.keys(cases) as K[];
  const out = new Map<K, Record<string, number[]>>(names.map((k) => [k, {}]));
  for (let r = -1; r < rounds; r++) {
    for (const k of names) {
      const m = await cases[k]();
      if (r < 0) continue;
      const into = out.get(k)!;
      for (const [key, v] of Object.entries(m)) into[key] = [...(into[key] ?? []), v];
    }
  }
  return Object.fromEntries(out) as Record<K, Record<string, number[]>>;
}

/** Runs `op` back to back for at least `ms` (and at least `minOps` times); returns ops/s. */
export async function rate(op: () => Promise<unknown>, ms: number, minOps = 1): Promise<number> {
  const start = performance.now();
  let n = 0;
  let elapsed = 0;
  while (n < minOps || elapsed < ms) {
    await op();
    n++;
    elapsed = performance.now() - start;
  }
  return (n * 1000) / elapsed;
}

/**
 * Like `rate`, for an operation in named phases (e.g. encrypt, then decrypt): `op` gets a
 * `lap(name)` that charges the time since the previous lap to `name`. Returns ops/s of
 * the whole operation (`all`) and of each phase alone.
 */
export async function phasedRate(
  op: (lap: (phase: string) => void) => Promise<unknown>,
  ms: number,
): Promise<Measures> {
  const spent: Record<string, number> = {};
  let n = 0;
  let total = 0;
  while (n < 1 || total < ms) {
    let t = performance.now();
    const t0 = t;
    await op((phase) => {
      const now = performance.now();
      spent[phase] = (spent[phase] ?? 0) + (now - t);
      t = now;
    });
    total += performance.now() - t0;
    n++;
  }
  const out: Measures = { all: (n * 1000) / total };
  for (const [phase, t] of Object.entries(spent)) out[phase] = (n * 1000) / t;
  return out;
}

/**
 * Milliseconds per call of `op` (for breakdowns, not comparisons): `n` calls in 5 batches
 * after one warm-up call, and the median of the batch means, so that a burst of other
 * work on the machine spoils one batch rather than the result.
 */
export async function msPerCall(op: () => Promise<unknown> | unknown, n: number): Promise<number> {
  await op();
  const batches = 5;
  const per = Math.max(1, Math.ceil(n / batches));
  const means: number[] = [];
  for (let b = 0; b < batches; b++) {
    const start = performance.now();
    for (let i = 0; i < per; i++) await op();
    means.push((performance.now() - start) / per);
  }
  return summarize(means).median;
}
