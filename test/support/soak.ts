import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { RedisServer } from './redis-server.js';
import { readLedger, ReplicaProcess } from './replica-process.js';
import { gridFires } from './replicas.js';
import { delay } from './wait.js';

export interface SoakPlan {
  processes: number;
  tasks: number;
  everyMs: number;
  durationMs: number;
  /** When (ms after start) replica p1 is SIGKILLed, and when a replacement starts. */
  killAtMs: number;
  replaceAtMs: number;
  /** When Redis is killed and restarted empty. */
  redisRestartAtMs: number;
}

export interface SoakReport {
  expectedFires: number;
  ranOnce: number;
  duplicates: number;
  misses: number;
  firesRun: number;
  /** Commands the replicas sent (EVALSHA, EVAL and plain commands), from INFO commandstats. */
  clientCommands: number;
  clientCommandsPerFire: number;
  /** Every command Redis executed, including those inside scripts. */
  redisOperations: number;
  redisOperationsPerFire: number;
  commandsByName: Record<string, number>;
  p50LatenessMs: number;
  p99LatenessMs: number;
  maxLatenessMs: number;
}

/** Commands our Lua scripts call: commandstats counts them as well as the EVALSHA that ran them. */
const CALLED_FROM_SCRIPTS = new Set(['get', 'set', 'del', 'exists', 'hget', 'hmget', 'hset', 'hdel', 'hkeys', 'hgetall', 'time', 'pttl', 'pexpire', 'lpush', 'ltrim', 'incr', 'publish']);

async function commandStats(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const stats: Record<string, number> = {};
  for (const match of info.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+)/g)) stats[match[1]!] = Number(match[2]);
  return stats;
}

function addStats(into: Record<string, number>, stats: Record<string, number>, minus: Record<string, number> = {}): void {
  for (const [name, calls] of Object.entries(stats)) into[name] = (into[name] ?? 0) + calls - (minus[name] ?? 0);
}

/** Waits until `atMs` after `t0`, then to the middle of the fire grid, so no task is mid-run. */
async function untilBetweenFires(t0: number, atMs: number, everyMs: number): Promise<void> {
  const target = t0 + atMs;
  const between = Math.floor(target / everyMs) * everyMs + everyMs / 2;
  await delay(Math.max(0, between - Date.now()));
}

/**
 * Runs real replica processes against a real Redis, kills one, restarts Redis, and checks from
 * the tasks' own ledger that every fire in the window ran exactly once.
 */
export async function runSoak(server: RedisServer, plan: SoakPlan, scheduler = `soak-${Date.now()}`): Promise<SoakReport> {
  const dir = mkdtempSync(join(tmpdir(), 'taskino-soak-'));
  // overlap allow: every fire inside an outage runs after it (overlap skip would run only the latest).
  const tasks = Array.from({ length: plan.tasks }, (_, i) => ({ name: `task-${i}`, everyMs: plan.everyMs, deadlineMs: 10_000, overlap: 'allow' as const }));
  const config = (id: string) => ({ redisUrl: server.url, scheduler, replicaId: id, ledger: join(dir, `${id}.jsonl`), tasks });
  const ids = Array.from({ length: plan.processes }, (_, i) => `p${i + 1}`);
  const admin = server.client();
  const processes = await Promise.all(ids.map((id) => ReplicaProcess.start(config(id))));
  const t0 = Date.now();
  const windowStart = t0 + 2_000; // after the first recovery window of a fresh store
  const commands: Record<string, number> = {};
  let baseline = await commandStats(admin);
  try {
    await untilBetweenFires(t0, plan.killAtMs, plan.everyMs);
    await processes[0]!.kill('SIGKILL');
    await untilBetweenFires(t0, plan.replaceAtMs, plan.everyMs);
    processes.push(await ReplicaProcess.start(config('p1-replacement')));
    await untilBetweenFires(t0, plan.redisRestartAtMs, plan.everyMs);
    addStats(commands, await commandStats(admin), baseline);
    await server.restart();
    baseline = {};
    await delay(Math.max(0, t0 + plan.durationMs - Date.now()));
    addStats(commands, await commandStats(admin), baseline);
  } finally {
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    admin.disconnect();
  }
  const windowEnd = t0 + plan.durationMs - 2_000;

  const starts = [...ids, 'p1-replacement'].flatMap((id) => readLedger(join(dir, `${id}.jsonl`))).filter((l) => l.event === 'start' && l.trigger === 'schedule');
  const runs = new Map<string, number>();
  const lateness: number[] = [];
  for (const s of starts) {
    runs.set(`${s.task}@${s.scheduledMs}`, (runs.get(`${s.task}@${s.scheduledMs}`) ?? 0) + 1);
    if (s.scheduledMs >= windowStart && s.scheduledMs <= windowEnd) lateness.push(s.atMs - s.scheduledMs);
  }
  let expectedFires = 0;
  let ranOnce = 0;
  let duplicates = 0;
  let misses = 0;
  for (const task of tasks) {
    for (const fire of gridFires(plan.everyMs, windowStart, windowEnd)) {
      expectedFires++;
      const n = runs.get(`${task.name}@${fire}`) ?? 0;
      if (n === 1) ranOnce++;
      else if (n === 0) misses++;
      else duplicates++;
    }
  }
  delete commands.info;
  const sum = (names: string[]): number => names.reduce((n, name) => n + (commands[name] ?? 0), 0);
  const redisOperations = sum(Object.keys(commands));
  // hgetall is both a client command (loading definitions) and called by publish.lua: counted as client.
  const clientCommands = sum(Object.keys(commands).filter((c) => !CALLED_FROM_SCRIPTS.has(c) || c === 'hgetall'));
  const perFire = (n: number): number => Number((n / Math.max(1, starts.length)).toFixed(2));
  lateness.sort((a, b) => a - b);
  return {
    expectedFires,
    ranOnce,
    duplicates,
    misses,
    firesRun: starts.length,
    clientCommands,
    clientCommandsPerFire: perFire(clientCommands),
    redisOperations,
    redisOperationsPerFire: perFire(redisOperations),
    commandsByName: commands,
    p50LatenessMs: lateness[Math.floor(lateness.length * 0.5)] ?? 0,
    p99LatenessMs: lateness[Math.floor(lateness.length * 0.99)] ?? 0,
    maxLatenessMs: lateness.at(-1) ?? 0,
  };
}
