// Redis-side counters: INFO commandstats (every command Redis executed, including the ones a Lua
// script runs) and INFO cpu, as deltas over a measurement window.
import type { Redis } from 'ioredis';

export interface RedisSnapshot {
  calls: Record<string, number>;
  cpuSeconds: number;
}

export interface RedisDelta {
  /** Calls per command over the window, without the benchmark's own INFO. */
  calls: Record<string, number>;
  /** All calls, including commands inside scripts. */
  operations: number;
  /** EVAL/EVALSHA (and _RO, FCALL) calls: script invocations sent by clients. */
  scriptCalls: number;
  cpuSeconds: number;
}

const SCRIPT_COMMANDS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro']);
/** The benchmark's own commands on its admin connection. */
const OWN_COMMANDS = new Set(['info', 'flushall']);

export async function snapshot(redis: Redis): Promise<RedisSnapshot> {
  const stats = await redis.info('commandstats');
  const cpu = await redis.info('cpu');
  const calls: Record<string, number> = {};
  for (const match of stats.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+)/g)) calls[match[1]!] = Number(match[2]);
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(cpu)?.[1] ?? 0);
  return { calls, cpuSeconds: field('used_cpu_sys') + field('used_cpu_user') };
}

export function delta(before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
  const calls: Record<string, number> = {};
  let operations = 0;
  let scriptCalls = 0;
  for (const [name, n] of Object.entries(after.calls)) {
    const d = n - (before.calls[name] ?? 0);
    if (d <= 0 || OWN_COMMANDS.has(name)) continue;
    calls[name] = d;
    operations += d;
    if (SCRIPT_COMMANDS.has(name)) scriptCalls += d;
  }
  return { calls, operations, scriptCalls, cpuSeconds: after.cpuSeconds - before.cpuSeconds };
}

/** The redis-server's pid (INFO server), to kill it from a synchronous exit handler. */
export async function serverPid(redis: Redis): Promise<number> {
  const info = await redis.info('server');
  return Number(/process_id:(\d+)/.exec(info)?.[1] ?? -1);
}

export async function serverVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
}
