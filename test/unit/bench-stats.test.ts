import { describe, expect, it } from 'vitest';
import { derive } from '../../bench/perf/derive.js';
import type { RunResult } from '../../bench/perf/measure.js';
import { accountFires, percentile, percentileCountingMissed } from '../../bench/perf/stats.js';
import { taskIndex, RELOAD_BASE } from '../../bench/perf/protocol.js';

describe('benchmark fire accounting', () => {
  const window = { fromMs: 10_000, toMs: 13_000, everyMs: 1000, tasks: 2 };

  it('counts each (task, scheduled second) once and finds misses, duplicates and off-grid starts', () => {
    const batches = [
      [0, 10_000, 10_003, 0, 11_000, 11_010, 1, 10_000, 10_001],
      // task 0 at 11 s ran again (a duplicate); task 1 at 12 s off the grid; one start outside the window
      [0, 11_000, 11_400, 1, 12_500, 12_502, 0, 13_000, 13_001, 1, 11_000, 11_020],
    ];
    const a = accountFires(batches, window);
    expect(a.expected).toBe(6);
    expect(a.ranOnce).toBe(3); // t0@10, t1@10, t1@11
    expect(a.duplicates).toBe(1); // t0@11
    expect(a.missed).toBe(2); // t0@12, t1@12
    expect(a.offGrid).toBe(1);
    expect(a.starts).toBe(5);
    expect(a.max).toBe(400);
    expect(a.firstP50).toBe(1); // earliest per second: 1 (10 s) and 10 (11 s); nearest rank takes the lower
  });

  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('counts a missed fire as never started in the p99 of expected fires', () => {
    const sorted = Array.from({ length: 99 }, (_, i) => i + 1);
    expect(percentileCountingMissed(sorted, 1, 0.99)).toBe(99); // 1 % missed: the p99 is still a start
    expect(percentileCountingMissed(sorted, 2, 0.99)).toBe(Number.POSITIVE_INFINITY);
    expect(accountFires([[0, 10_000, 10_005]], window).p99OfExpected).toBe(Number.POSITIVE_INFINITY); // 5 of 6 missed
  });

  it('computes the original design reference from the window counters', () => {
    const run: RunResult = {
      kind: 'taskino',
      replicas: 3,
      tasks: 100,
      mode: 'loaded',
      skips: {},
      notes: [],
      fires: { expected: 1000, ranOnce: 1000, missed: 0, duplicates: 0, offGrid: 0, starts: 1000, firstP50: 1, p50: 1, p99: 2, p99OfExpected: 2, max: 3 },
      costs: { seconds: 10, redis: { calls: {}, operations: 5000, scriptCalls: 2000, cpuSeconds: 0.5 }, commands: 1500, commandsByName: {}, replicaCpuSeconds: 2, rssMb: [60, 70, 80] },
    };
    const d = derive(run);
    expect(d.originalCommandsPerFire).toBeCloseTo((3 * 1000 + 3 * 10) / 1000);
    expect(d.commandsPerFire).toBe(1.5);
    expect(d.opsPerFire).toBe(5);
    expect(d.redisCpuMsPer1000).toBe(500);
    expect(d.rssMaxMb).toBe(80);
  });

  it('maps task names to indexes', () => {
    expect(taskIndex('t-42')).toBe(42);
    expect(taskIndex('r-3')).toBe(RELOAD_BASE + 3);
  });
});
