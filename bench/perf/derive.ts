// Figures derived from one run's raw counters, shared by the tables, the targets and the chart.
import type { RunResult } from './measure.js';

export interface Derived {
  expected: number;
  /** Commands the replicas sent per scheduled fire (a script call counts once). */
  commandsPerFire: number;
  /** Every command Redis executed per fire, including those inside scripts (INFO commandstats). */
  opsPerFire: number;
  scriptCallsPerFire: number;
  redisCpuMsPer1000: number;
  replicaCpuSPer1000: number;
  rssMaxMb: number;
  rssMeanMb: number;
  /** The original design: one version poll per process per second and one claim per process per fire. */
  originalCommandsPerFire: number;
}

const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

export function derive(r: RunResult): Derived {
  const expected = r.fires?.expected ?? 0;
  const c = r.costs;
  const per = (n: number | undefined): number => (c && expected > 0 && n !== undefined ? n / expected : NaN);
  const seconds = c?.seconds ?? NaN;
  return {
    expected,
    commandsPerFire: per(c?.commands),
    opsPerFire: per(c?.redis.operations),
    scriptCallsPerFire: per(c?.redis.scriptCalls),
    redisCpuMsPer1000: per(c ? c.redis.cpuSeconds * 1_000_000 : undefined),
    replicaCpuSPer1000: per(c ? c.replicaCpuSeconds * 1000 : undefined),
    rssMaxMb: c ? Math.max(...c.rssMb) : NaN,
    rssMeanMb: c ? mean(c.rssMb) : NaN,
    originalCommandsPerFire: expected > 0 ? (r.replicas * expected + r.replicas * seconds) / expected : NaN,
  };
}

export interface IdleDerived {
  rssMeanMb: number;
  rssMaxMb: number;
  /** CPU of one replica, in % of one core (mean over replicas). */
  cpuPercentPerReplica: number;
  commandsPerSecond: number;
  opsPerSecond: number;
  redisCpuPercent: number;
}

export function deriveIdle(r: RunResult): IdleDerived {
  const c = r.costs;
  if (!c) return { rssMeanMb: NaN, rssMaxMb: NaN, cpuPercentPerReplica: NaN, commandsPerSecond: NaN, opsPerSecond: NaN, redisCpuPercent: NaN };
  return {
    rssMeanMb: mean(c.rssMb),
    rssMaxMb: Math.max(...c.rssMb),
    cpuPercentPerReplica: (c.replicaCpuSeconds / c.seconds / r.replicas) * 100,
    commandsPerSecond: c.commands / c.seconds,
    opsPerSecond: c.redis.operations / c.seconds,
    redisCpuPercent: (c.redis.cpuSeconds / c.seconds) * 100,
  };
}

/** A number for a table cell: fixed digits, "n/a" when unknown. */
export function fmt(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  return n.toFixed(digits);
}

/** Lateness in ms: whole numbers, n/a when unknown. */
export const ms = (n: number | undefined): string => fmt(n, 0);
