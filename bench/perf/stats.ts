// Fire accounting over a window of scheduled times: every task should fire once per second on the
// whole-second grid. Misses, duplicates and off-grid fires are counted; lateness percentiles are
// taken over every start in the window (a duplicate's too).

export interface FireAccount {
  expected: number;
  /** Fires (task, scheduled time) that ran exactly once. */
  ranOnce: number;
  /** Expected fires not started by the end of the collection (window end + grace). */
  missed: number;
  /** Fires that ran more than once: a correctness bug for a once-per-fire scheduler. */
  duplicates: number;
  /** Starts in the window whose scheduled time is not on the grid or names no task of the run. */
  offGrid: number;
  starts: number;
  /** Median over the window's seconds of the earliest start in each: timer and one round trip, without the burst's queueing. */
  firstP50: number;
  p50: number;
  p99: number;
  /**
   * p99 over every expected fire, a missed one counting as never started (Infinity): a scheduler
   * that drops more than 1 % of its fires has no finite p99, however fast the ones it ran.
   */
  p99OfExpected: number;
  max: number;
}

/** Nearest-rank percentile of sorted values; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}

/** Nearest-rank percentile of `sorted` plus `missing` values of Infinity. */
export function percentileCountingMissed(sorted: ArrayLike<number>, missing: number, p: number): number {
  const n = sorted.length + missing;
  if (n === 0) return NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil(p * n)));
  return rank <= sorted.length ? sorted[rank - 1]! : Number.POSITIVE_INFINITY;
}

export interface Window {
  /** First scheduled time in the window (a multiple of everyMs). */
  fromMs: number;
  /** Scheduled times before this are in the window. */
  toMs: number;
  everyMs: number;
  tasks: number;
}

/** `batches` hold flat triples (task index, scheduled ms, start ms). */
export function accountFires(batches: number[][], window: Window): FireAccount {
  const slots = Math.round((window.toMs - window.fromMs) / window.everyMs);
  const counts = new Uint16Array(window.tasks * slots);
  const lateness: number[] = [];
  const first = new Float64Array(slots).fill(Infinity);
  let offGrid = 0;
  for (const batch of batches) {
    for (let i = 0; i + 2 < batch.length; i += 3) {
      const task = batch[i]!;
      const scheduled = batch[i + 1]!;
      const started = batch[i + 2]!;
      if (scheduled < window.fromMs || scheduled >= window.toMs) continue;
      const offset = scheduled - window.fromMs;
      if (offset % window.everyMs !== 0 || task < 0 || task >= window.tasks) {
        offGrid++;
        continue;
      }
      const second = offset / window.everyMs;
      const slot = task * slots + second;
      counts[slot] = Math.min(65_535, counts[slot]! + 1);
      lateness.push(started - scheduled);
      first[second] = Math.min(first[second]!, started - scheduled);
    }
  }
  let ranOnce = 0;
  let missed = 0;
  let duplicates = 0;
  for (const n of counts) {
    if (n === 1) ranOnce++;
    else if (n === 0) missed++;
    else duplicates++;
  }
  const sorted = Float64Array.from(lateness).sort();
  const firsts = first.filter((x) => Number.isFinite(x)).sort();
  return {
    expected: counts.length,
    ranOnce,
    missed,
    duplicates,
    offGrid,
    starts: lateness.length,
    firstP50: percentile(firsts, 0.5),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p99OfExpected: percentileCountingMissed(sorted, missed, 0.99),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
  };
}

/** Lateness of the fires scheduled in [fromMs, toMs), with the fires of the grid never started. */
export function latenessBetween(batches: number[][], window: Window): { p99: number; max: number; missed: number; starts: number } {
  const account = accountFires(batches, window);
  return { p99: account.p99, max: account.max, missed: account.missed, starts: account.starts };
}

export const round = (n: number, digits = 1): number => (Number.isFinite(n) ? Number(n.toFixed(digits)) : NaN);
