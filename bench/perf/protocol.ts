// Messages between the benchmark (parent) and its child processes (replicas, the app), over the
// Node IPC channel. Fires travel in batches as flat triples so that reporting stays cheap.
import { writeSync } from 'node:fs';

/** Fires as flat triples: task index, scheduled time (ms), start time (ms, the handler's first line). */
export type FireTriples = number[];

/** Task names are `t-<index>`; tasks added by a reload are `r-<k>`, reported as RELOAD_BASE + k. */
export const RELOAD_BASE = 1_000_000;

export function taskIndex(name: string): number {
  const dash = name.indexOf('-');
  const n = Number(name.slice(dash + 1));
  if (!Number.isInteger(n)) return -1;
  return name.startsWith('r-') ? RELOAD_BASE + n : n;
}

/** Environment variable carrying a child's JSON configuration. */
export const CONFIG_ENV = 'BENCH_CHILD_CONFIG';

export interface LibraryReplicaConfig {
  kind: 'library';
  redisUrl: string;
  scheduler: string;
  replicaId: string;
  tasks: number;
  /** Loaded: every 1 s on the epoch grid. Idle: every hour, first fire at idleStartMs (never due in the run). */
  mode: 'loaded' | 'idle';
  idleStartMs: number;
  recoveryWindowMs: number;
  /** Report each fire at once as a stdout line (synchronous on a pipe), so a SIGKILL loses none. */
  reportSync: boolean;
}

export interface BullmqReplicaConfig {
  kind: 'bullmq';
  host: string;
  port: number;
  queue: string;
  replicaId: string;
  concurrency: number;
  reportSync: boolean;
}

/** A fire reported as a line: `F <task index> <scheduled ms> <start ms>`. */
export function writeFireLine(index: number, scheduledMs: number, startedMs: number): void {
  writeSync(1, `F ${index} ${scheduledMs} ${startedMs}\n`);
}

export interface AppConfig {
  kind: 'app';
  port: number;
}

export type ToChild =
  | { type: 'counts'; id: number }
  | { type: 'flush'; id: number }
  /** Library replica: publish the current set plus task r-<k> (every 1 s) under a higher version. */
  | { type: 'reload'; id: number; k: number; version: number }
  /** BullMQ replica: upsert job schedulers t-0..t-(tasks-1). */
  | { type: 'upsert'; id: number; tasks: number; everyMs: number; startDateMs: number };

export type FromChild =
  | { type: 'ready'; pid: number }
  | { type: 'fires'; data: FireTriples; skips?: Record<string, number> }
  | { type: 'counts'; id: number; total: number; byName: Record<string, number> }
  | { type: 'flushed'; id: number }
  | { type: 'reloaded'; id: number; publishedAtMs: number; accepted: boolean; generation: number }
  | { type: 'switched'; atMs: number; generation: number }
  | { type: 'upserted'; id: number; startedMs: number; endedMs: number }
  | { type: 'log'; level: string; message: string }
  | { type: 'error'; message: string };

/** Sends to the parent if there is one (a child whose parent died exits on 'disconnect'). */
export function toParent(message: FromChild): void {
  if (process.send && process.connected) process.send(message);
}

/** A child exits when its parent goes away, so a crashed benchmark leaves no replica behind. */
export function exitWithParent(): void {
  process.on('disconnect', () => process.exit(0));
}
