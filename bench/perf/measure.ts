// One measured configuration: start a cluster on an empty Redis, let it warm up, then take
// counters around a window of whole seconds and account for every fire scheduled in it.
import type { Redis } from 'ioredis';
import { NoAnswer, type Child, type ProcSample } from './children.js';
import { delta, snapshot, type RedisDelta, type RedisSnapshot } from './redis-stats.js';
import { accountFires, type FireAccount, type Window } from './stats.js';
import { startCluster, type BenchEnv, type Cluster, type ClusterSpec, type SystemKind } from './systems.js';

export interface Timing {
  warmupMs: number;
  windowMs: number;
  /** After the window, how long late fires may still arrive before they count as missed. */
  graceMs: number;
}

export interface Counters {
  atMs: number;
  redis: RedisSnapshot;
  procs: Array<ProcSample | undefined>;
  /** Commands each replica sent so far (undefined: it did not answer in time). */
  commands: Array<number | undefined>;
  byName: Array<Record<string, number>>;
}

export interface Costs {
  seconds: number;
  redis: RedisDelta;
  /** Commands the replicas sent (script call = 1), NaN if a replica did not answer. */
  commands: number;
  commandsByName: Record<string, number>;
  /** CPU seconds of all replicas together. */
  replicaCpuSeconds: number;
  /** RSS of each replica at the end of the window. */
  rssMb: number[];
}

export interface RunResult {
  kind: SystemKind;
  replicas: number;
  tasks: number;
  mode: 'loaded' | 'idle';
  fires?: FireAccount;
  costs?: Costs;
  skips: Record<string, number>;
  /** Output of the children worth a look (warnings, errors). */
  notes: string[];
  error?: string;
  /** timeout: the system did not start or answer in time (a finding); failure: something broke. */
  errorKind?: 'timeout' | 'failure';
}

export interface MeasureContext {
  env: BenchEnv;
  admin: Redis;
  timing: Timing;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
export const sleepUntil = (atMs: number): Promise<void> => sleep(atMs - Date.now());

/** /proc and Redis are read at once; a replica answers its command count when its event loop gets to it (5 s at most). */
export async function takeCounters(admin: Redis, cluster: Cluster): Promise<Counters> {
  const atMs = Date.now();
  const procs = cluster.replicas.map((r) => r.sample());
  const [redis, answers] = await Promise.all([
    snapshot(admin),
    Promise.all(
      cluster.replicas.map((r) =>
        r.ask<{ type: 'counts'; id: number; total: number; byName: Record<string, number> }>((id) => ({ type: 'counts', id }), 'counts', 5_000).catch((error: unknown) => {
          if (error instanceof NoAnswer || !r.alive) return undefined;
          throw error;
        }),
      ),
    ),
  ]);
  return { atMs, redis, procs, commands: answers.map((a) => a?.total), byName: answers.map((a) => a?.byName ?? {}) };
}

export function costsBetween(before: Counters, after: Counters): Costs {
  let commands = 0;
  const commandsByName: Record<string, number> = {};
  let replicaCpuSeconds = 0;
  for (let i = 0; i < before.procs.length; i++) {
    const c0 = before.commands[i];
    const c1 = after.commands[i];
    commands += c0 === undefined || c1 === undefined ? NaN : c1 - c0;
    for (const [name, n] of Object.entries(after.byName[i] ?? {})) {
      const d = n - (before.byName[i]?.[name] ?? 0);
      if (d > 0) commandsByName[name] = (commandsByName[name] ?? 0) + d;
    }
    replicaCpuSeconds += (after.procs[i]?.cpuSeconds ?? NaN) - (before.procs[i]?.cpuSeconds ?? NaN);
  }
  return {
    seconds: (after.atMs - before.atMs) / 1000,
    redis: delta(before.redis, after.redis),
    commands,
    commandsByName,
    replicaCpuSeconds,
    rssMb: after.procs.map((p) => p?.rssMb ?? NaN),
  };
}

/**
 * Asks every reporter to send what it holds. An overloaded replica answers late (its event loop is
 * behind); it gets up to 10 s, then what it has not reported counts as missed.
 */
export async function flushReporters(reporters: Child[]): Promise<void> {
  await Promise.all(reporters.map((r) => r.ask((id) => ({ type: 'flush', id }), 'flushed', 10_000).catch(() => undefined)));
}

export function allFires(reporters: Child[]): number[][] {
  return reporters.flatMap((r) => r.fires);
}

/** Waits until some fire has been reported (start-up, recovery window), at most `timeoutMs`. */
export async function firstFire(reporters: Child[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (reporters.some((r) => r.fires.length > 0)) return true;
    if (reporters.every((r) => !r.alive)) return false;
    await sleep(100);
  }
  return false;
}

/** The window's first scheduled time: a whole second at least `warmupMs` from now. */
export const windowFrom = (warmupMs: number): number => Math.ceil((Date.now() + warmupMs) / 1000) * 1000;

function notesOf(cluster: Cluster): string[] {
  const notes: string[] = [];
  for (const child of [...cluster.replicas, ...cluster.reporters]) {
    for (const line of child.logs.slice(-5)) notes.push(`${child.name}: ${line.slice(0, 300)}`);
  }
  return [...new Set(notes)];
}

function skipsOf(cluster: Cluster): Record<string, number> {
  const skips: Record<string, number> = {};
  for (const child of new Set([...cluster.replicas, ...cluster.reporters])) {
    for (const [k, v] of Object.entries(child.skips)) if (v > 0) skips[k] = (skips[k] ?? 0) + v;
  }
  return skips;
}

/**
 * Runs `body` on a fresh cluster of `kind` (FLUSHALL first) and always stops it. A failure becomes
 * the result's `error` with the children's last output, so one broken configuration cannot hang or
 * end the whole benchmark.
 */
export async function withCluster(
  ctx: MeasureContext,
  kind: SystemKind,
  spec: ClusterSpec,
  body: (cluster: Cluster, result: RunResult) => Promise<void>,
): Promise<RunResult> {
  const result: RunResult = { kind, replicas: spec.replicas, tasks: spec.tasks, mode: spec.mode, skips: {}, notes: [] };
  await ctx.admin.flushall();
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster(ctx.env, kind, spec);
    result.notes.push(...(cluster.notes ?? []));
    await body(cluster, result);
  } catch (error) {
    result.error = (error as Error).message.split('\n')[0];
    result.errorKind = error instanceof NoAnswer ? 'timeout' : 'failure';
    if (cluster) result.notes.push(...notesOf(cluster));
    else result.notes.push((error as Error).message);
  } finally {
    if (cluster) {
      result.skips = skipsOf(cluster);
      for (const [k, v] of Object.entries((await cluster.skipCounts?.().catch(() => undefined)) ?? {})) if (v > 0) result.skips[k] = (result.skips[k] ?? 0) + v;
      if (!result.error) result.notes.push(...notesOf(cluster).filter((n) => /\b(warn|error)\b/i.test(n)));
      await cluster.stop();
    }
  }
  return result;
}

/** Fires every second on `spec.tasks` tasks: lateness, misses, duplicates and costs over the window. */
export async function measureLoaded(ctx: MeasureContext, kind: SystemKind, replicas: number, tasks: number): Promise<RunResult> {
  const { timing } = ctx;
  return withCluster(ctx, kind, { replicas, tasks, mode: 'loaded' }, async (cluster, result) => {
    if (!(await firstFire(cluster.reporters, 30_000))) result.notes.push('no fire within 30 s of start-up');
    const fromMs = windowFrom(timing.warmupMs);
    const toMs = fromMs + timing.windowMs;
    // Counters are read mid-second, away from the fire bursts: [from - 0.5 s, to - 0.5 s) holds
    // the processing of exactly the fires scheduled in [from, to).
    await sleepUntil(fromMs - 500);
    const before = await takeCounters(ctx.admin, cluster);
    await sleepUntil(toMs - 500);
    const after = await takeCounters(ctx.admin, cluster);
    await sleepUntil(toMs + timing.graceMs);
    await flushReporters(cluster.reporters);
    const window: Window = { fromMs, toMs, everyMs: 1000, tasks };
    result.fires = accountFires(allFires(cluster.reporters), window);
    result.costs = costsBetween(before, after);
  });
}

/** Tasks registered but none due: the cost of standing by. */
export async function measureIdle(ctx: MeasureContext, kind: SystemKind, replicas: number, tasks: number, windowMs: number): Promise<RunResult> {
  const { timing } = ctx;
  return withCluster(ctx, kind, { replicas, tasks, mode: 'idle' }, async (cluster, result) => {
    await sleep(timing.warmupMs + 2_000);
    const before = await takeCounters(ctx.admin, cluster);
    await sleep(windowMs);
    const after = await takeCounters(ctx.admin, cluster);
    result.costs = costsBetween(before, after);
  });
}
