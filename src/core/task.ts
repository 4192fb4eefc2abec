import { InvalidOptionError } from './errors.js';
import { assertTaskName } from './names.js';

export type Scope = 'cluster' | 'pod';
export type Overlap = 'skip' | 'allow';
export type FireTrigger = 'schedule' | 'manual';
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a task's handler is told about the run it is performing. */
export interface TaskRunContext {
  task: string;
  scheduledAt: Date;
  /** 1 for the first attempt; retries reuse the fire's identity with a higher attempt. */
  attempt: number;
  trigger: FireTrigger;
  /**
   * `<task>@<scheduled ISO time>`: the same on every attempt and every replica. A manual run has a
   * key of its own, `<task>@<ISO time>/manual-<random>`, that no other run shares.
   */
  idempotencyKey: string;
  replica: string;
  /** Aborted when the attempt times out or the scheduler shuts down. */
  signal: AbortSignal;
}

export type TaskHandler = (context: TaskRunContext) => unknown;

/** Options of one task; every field is optional and documented with its default and unit. */
export interface TaskOptions {
  /** Run on every replica (pod scope) instead of once across replicas. Default false. */
  concurrent?: boolean;
  /** "skip": do not start a fire while a run of this task is in progress anywhere. Default "skip". */
  overlap?: Overlap;
  /** Latest start after the scheduled time, in ms; a later start counts as missed. Default 60000. */
  deadlineMs?: number;
  /** Per-attempt timeout in ms; 0 means none. Default 0. */
  timeoutMs?: number;
  /** Extra attempts after a thrown error or a timeout, all inside deadline + timeout. Default 0. */
  retries?: number;
  /** Published paused: fires are skipped (reason "paused") until the definition changes. Default false. */
  paused?: boolean;
  /**
   * Spreads starts after the scheduled time by up to this many ms, by a fraction derived from the
   * task and fire (the same on every replica), never reaching the next fire. Default 0.
   */
  jitterMs?: number;
  /** Opaque data published with the definition (the sidecar keeps its HTTP call here). */
  payload?: JsonValue;
}

export const TASK_DEFAULTS = { deadlineMs: 60_000, timeoutMs: 0, retries: 0, overlap: 'skip' as Overlap };

export interface ResolvedTaskOptions {
  scope: Scope;
  overlap: Overlap;
  deadlineMs: number;
  timeoutMs: number;
  retries: number;
  paused?: boolean;
  jitterMs?: number;
  payload?: JsonValue;
}

export class Task {
  readonly name: string;
  readonly handler: TaskHandler;
  readonly options: ResolvedTaskOptions;

  constructor(name: string, handler: TaskHandler, options: TaskOptions = {}) {
    assertTaskName(name);
    if (typeof handler !== 'function') throw new InvalidOptionError(`task "${name}": the handler must be a function`);
    this.name = name;
    this.handler = handler;
    this.options = resolveTaskOptions(name, options);
  }
}

function resolveTaskOptions(name: string, options: TaskOptions): ResolvedTaskOptions {
  const overlap = options.overlap ?? TASK_DEFAULTS.overlap;
  if (overlap !== 'skip' && overlap !== 'allow') {
    throw new InvalidOptionError(`task "${name}": overlap must be "skip" or "allow", got "${String(overlap)}"`);
  }
  const resolved: ResolvedTaskOptions = {
    scope: options.concurrent ? 'pod' : 'cluster',
    overlap,
    deadlineMs: wholeMs(name, 'deadlineMs', options.deadlineMs ?? TASK_DEFAULTS.deadlineMs, 1),
    timeoutMs: wholeMs(name, 'timeoutMs', options.timeoutMs ?? TASK_DEFAULTS.timeoutMs, 0),
    retries: wholeMs(name, 'retries', options.retries ?? TASK_DEFAULTS.retries, 0),
  };
  if (options.paused) resolved.paused = true;
  if (options.jitterMs) resolved.jitterMs = wholeMs(name, 'jitterMs', options.jitterMs, 0);
  if (options.payload !== undefined) resolved.payload = options.payload;
  return resolved;
}

function wholeMs(task: string, field: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidOptionError(`task "${task}": ${field} must be a whole number >= ${min}, got ${value}`);
  }
  return value;
}
