import type { DefinitionSet } from '../definitions.js';
import type { RunOutcome } from '../store/task-store.js';
import type { FireTrigger } from '../task.js';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Default logger of the library: warnings and errors to stderr, nothing else. */
export const consoleLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (message, fields) => console.warn(`[taskino] ${message}`, fields ?? ''),
  error: (message, fields) => console.error(`[taskino] ${message}`, fields ?? ''),
};

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** What `onComplete` receives after every run. */
export interface CompletionContext {
  task: string;
  scheduledAt: Date;
  startedAt: Date;
  costMs: number;
  ok: boolean;
  error?: Error;
  trigger: FireTrigger;
  /** The attempt that ended the run (1 = no retry). */
  attempt: number;
  outcome: Exclude<RunOutcome, 'missed'>;
  replica: string;
  /** Start minus scheduled time, on the store's clock. */
  latenessMs: number;
  /** A status the handler reported (its result's or error's `status`), e.g. the HTTP status. */
  status?: number;
}

export interface SkipContext {
  task: string;
  /** The (latest) skipped fire. */
  scheduledAt: Date;
  reason: 'overlap' | 'paused' | 'missed';
  /** How many fires this skip covers (missed fires are counted in one batch). */
  count: number;
}

export interface ClaimContext {
  task: string;
  scheduledAt: Date;
  result: 'won' | 'lost';
}

/** All callbacks are optional; an exception in one is logged and does not affect scheduling. */
export interface SchedulerListener {
  onStartup?(): void;
  onStop?(): void;
  onReload?(set: DefinitionSet): void;
  onComplete?(context: CompletionContext): void;
  onSkip?(context: SkipContext): void;
  onClaim?(context: ClaimContext): void;
  onStoreError?(operation: string, error: Error): void;
  onRunStart?(task: string): void;
}

/** How a definition set offered by `reload()` fared. */
export interface ReloadResult {
  accepted: boolean;
  /** The stored set has this version with other content. */
  conflict: boolean;
  /** The set in force now. */
  set: DefinitionSet;
}

export interface TriggerOptions {
  /** Run even if a run of the task is in progress (ignores `overlap: skip`). Default false. */
  force?: boolean;
}

export type TriggerOutcome = { ran: true; result: CompletionContext } | { ran: false; reason: 'overlap' };

export interface TaskInfo {
  name: string;
  schedule: string;
  scope: 'cluster' | 'pod';
  nextFireAt: Date | undefined;
  paused: boolean;
  running: number;
  /** Why this replica runs none of the task's fires (the others do), e.g. an environment variable it lacks. */
  notRunHere?: string;
}
