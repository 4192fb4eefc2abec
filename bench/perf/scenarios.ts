// The scenarios beyond one loaded window: the throughput ceiling, reload propagation and failover.
import { allFires, firstFire, flushReporters, measureLoaded, sleep, sleepUntil, windowFrom, withCluster, type MeasureContext, type RunResult } from './measure.js';
import { accountFires, type FireAccount } from './stats.js';
import type { SystemKind } from './systems.js';

export const CEILING_P99_MS = 50;

export interface CeilingResult {
  kind: SystemKind;
  replicas: number;
  steps: Array<{ result: RunResult; pass: boolean }>;
  /** The highest passing fire rate (fires per second), undefined if none passed. */
  highestPassing: number | undefined;
  /** True if every step passed: the ceiling is above the largest step tried. */
  open: boolean;
}

export function passes(result: RunResult): boolean {
  const f = result.fires;
  return !result.error && f !== undefined && f.missed === 0 && f.duplicates === 0 && f.p99 <= CEILING_P99_MS;
}

/**
 * Raises the number of every-second tasks until p99 lateness passes 50 ms or a fire is missed. A
 * step already measured in the matrix (same system, replicas and tasks) is not run again.
 */
export async function findCeiling(
  ctx: MeasureContext,
  kind: SystemKind,
  replicas: number,
  steps: number[],
  known: RunResult[],
  progress: (r: RunResult) => void,
): Promise<CeilingResult> {
  const out: CeilingResult = { kind, replicas, steps: [], highestPassing: undefined, open: false };
  for (const tasks of steps) {
    const measured = known.find((r) => r.kind === kind && r.replicas === replicas && r.tasks === tasks && r.mode === 'loaded');
    const result = measured ?? (await measureLoaded(ctx, kind, replicas, tasks));
    if (!measured) progress(result);
    const pass = passes(result);
    out.steps.push({ result, pass });
    if (!pass) return out;
    out.highestPassing = tasks;
  }
  out.open = true;
  return out;
}

export interface ReloadResult {
  kind: SystemKind;
  replicas: number;
  tasks: number;
  /** Per change: ms from the publish (reload() call / file write) to each replica's switch; NaN = not within 10 s. */
  samples: number[][];
  run: RunResult;
}

/**
 * Publishes a changed definition set (a task added) while the cluster fires, and times how long
 * each replica takes to switch to it (the scheduler's onReload; the sidecar logs it).
 */
export async function measureReload(ctx: MeasureContext, kind: SystemKind, replicas: number, tasks: number, count: number): Promise<ReloadResult> {
  const samples: number[][] = [];
  const run = await withCluster(ctx, kind, { replicas, tasks, mode: 'loaded', infoLogs: kind === 'sidecar' }, async (cluster) => {
    const reload = cluster.reload;
    if (!reload) throw new Error(`${kind} has no reload`);
    await firstFire(cluster.reporters, 30_000);
    await sleep(ctx.timing.warmupMs);
    for (let k = 1; k <= count; k++) {
      // Changes land at varied moments of the second, not always next to a fire burst.
      await sleepUntil(Math.ceil(Date.now() / 1000) * 1000 + ((k * 370) % 1000));
      const { publishedAtMs } = await reload(k);
      const deadline = Date.now() + 10_000;
      const switchedAt = (i: number): number | undefined => cluster.replicas[i]!.switched.find((s) => s.atMs >= publishedAtMs)?.atMs;
      while (Date.now() < deadline && cluster.replicas.some((_, i) => switchedAt(i) === undefined)) await sleep(10);
      samples.push(cluster.replicas.map((_, i) => (switchedAt(i) ?? NaN) - publishedAtMs));
      await sleep(500);
    }
  });
  return { kind, replicas, tasks, samples, run };
}

export interface FailoverResult {
  kind: SystemKind;
  replicas: number;
  tasks: number;
  /** Fires in the seconds before the kill, for comparison. */
  before?: FireAccount;
  /** Fires scheduled from the kill's second on, for `afterMs`. */
  after?: FireAccount;
  afterMs: number;
  graceMs: number;
  /** When in the kill's second the replica was killed (ms after the fire time). */
  killOffsetMs: number;
  run: RunResult;
}

/**
 * SIGKILLs one replica of the cluster in the middle of a fire burst (claims and runs in flight), then
 * accounts for the fires scheduled from that second on: every one the victim would have run has to
 * be picked up by a survivor. Replicas report each fire at once, so the victim's own reports survive.
 */
export async function measureFailover(ctx: MeasureContext, kind: SystemKind, replicas: number, tasks: number, afterMs: number, graceMs: number): Promise<FailoverResult> {
  let before: FireAccount | undefined;
  let after: FireAccount | undefined;
  let killOffsetMs = NaN;
  const run = await withCluster(ctx, kind, { replicas, tasks, mode: 'loaded', reportSync: true }, async (cluster) => {
    if (replicas < 2) throw new Error('failover needs at least 2 replicas');
    await firstFire(cluster.reporters, 30_000);
    const fromMs = windowFrom(ctx.timing.warmupMs);
    let killSecond = fromMs + 3_000;
    // Kill in the middle of a burst, whatever the system's own pace: at the median lateness of the
    // seconds before (5 to 900 ms), when claims, fetches and runs are in flight.
    await sleepUntil(killSecond - 300);
    await flushReporters(cluster.reporters);
    const baseline = accountFires(allFires(cluster.reporters), { fromMs, toMs: killSecond - 1_000, everyMs: 1000, tasks });
    killOffsetMs = Math.min(900, Math.max(5, Number.isFinite(baseline.p50) ? baseline.p50 : 5));
    while (Date.now() > killSecond + killOffsetMs - 20) killSecond += 1000; // a slow flush made us late
    await sleepUntil(killSecond + killOffsetMs);
    await cluster.replicas[1]!.kill();
    await sleepUntil(killSecond + afterMs + graceMs);
    await flushReporters(cluster.reporters.filter((r) => r.alive));
    const fires = allFires(cluster.reporters);
    before = accountFires(fires, { fromMs, toMs: killSecond, everyMs: 1000, tasks });
    after = accountFires(fires, { fromMs: killSecond, toMs: killSecond + afterMs, everyMs: 1000, tasks });
  });
  return { kind, replicas, tasks, before, after, afterMs, graceMs, killOffsetMs, run };
}
