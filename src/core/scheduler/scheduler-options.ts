import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { TaskDefinition } from '../definitions.js';
import { InvalidOptionError } from '../errors.js';
import type { TaskHandler } from '../task.js';
import { systemSleep, type Sleep } from '../time.js';
import { consoleLogger, type Logger } from './types.js';

export interface SchedulerOptions {
  /** Where the scheduler reports; default: warnings and errors to stderr. */
  logger?: Logger;
  /** Injected sleep (tests drive time with it). Default: setTimeout. */
  sleep?: Sleep;
  /** This replica's name in history and logs. Default: `<hostname>-<pid>-<random>`. */
  replicaId?: string;
  /** Heartbeat to the store (definition and pause changes, clock offset), in ms. Default 1000. */
  pollIntervalMs?: number;
  /** Lease of a running `overlap: skip` run; renewed every third of it, in ms. Default 15000. */
  leaseTtlMs?: number;
  /** Longest single timer sleep, in ms; the clock is re-read on every wake. Default 30000. */
  maxSleepMs?: number;
  /** On stop, how long running tasks may take to finish, in ms. Default 30000. */
  shutdownGraceMs?: number;
  /** A store call that takes longer than this counts as failed, in ms. Default 2000. */
  storeTimeoutMs?: number;
  /**
   * Lets a task call `stop()` without deadlocking on its own run: runs are told apart with
   * AsyncLocalStorage, whose promise hooks cost on Node 20 about 15 % of a fire's CPU (65 against 55 µs
   * per fire, one replica at 10,000 fires/s).
   * Set false when no task calls `stop()` (the sidecar does). Default true.
   */
  tasksMayStop?: boolean;
  /**
   * Builds the handler of a published definition (e.g. an HTTP call from its payload). When given,
   * it serves every published task, so a replica whose own copy of the definitions lags behind
   * still runs the published ones; registered handlers are the fallback. Default: none.
   */
  handlerFor?: (definition: TaskDefinition) => TaskHandler | undefined;
}

export type ResolvedSchedulerOptions = Required<Omit<SchedulerOptions, 'handlerFor'>> & Pick<SchedulerOptions, 'handlerFor'>;

/** Applies the documented defaults and refuses values outside what is allowed, once, at the edge. */
export function resolveSchedulerOptions(options: SchedulerOptions): ResolvedSchedulerOptions {
  const resolved: ResolvedSchedulerOptions = {
    logger: options.logger ?? consoleLogger,
    sleep: options.sleep ?? systemSleep,
    replicaId: options.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    pollIntervalMs: Math.round(atLeast('pollIntervalMs', options.pollIntervalMs ?? 1_000, 10)),
    leaseTtlMs: positive('leaseTtlMs', options.leaseTtlMs ?? 15_000),
    maxSleepMs: positive('maxSleepMs', options.maxSleepMs ?? 30_000),
    shutdownGraceMs: positive('shutdownGraceMs', options.shutdownGraceMs ?? 30_000),
    storeTimeoutMs: positive('storeTimeoutMs', options.storeTimeoutMs ?? 2_000),
    tasksMayStop: options.tasksMayStop ?? true,
  };
  if (options.handlerFor) resolved.handlerFor = options.handlerFor;
  return resolved;
}

function atLeast(name: string, value: number, minimum: number): number {
  if (!Number.isFinite(value) || value < minimum) throw new InvalidOptionError(`${name} must be at least ${minimum} ms, got ${value}`);
  return value;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidOptionError(`${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}
