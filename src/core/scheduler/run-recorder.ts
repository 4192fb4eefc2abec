import { StoreStateError } from '../errors.js';
import type { PauseSpan, RunRecord, TaskStore } from '../store/task-store.js';
import type { Sleep } from '../time.js';
import { firesBetween } from './fire-math.js';
import type { ListenerHub } from './listener-hub.js';
import type { ScheduledTask } from './scheduled-task.js';
import type { Logger } from './types.js';

export interface RunRecorderDeps {
  store: TaskStore;
  sleep: Sleep;
  logger: Logger;
  hub: ListenerHub;
  replica: string;
  withTimeout<T>(operation: string, call: () => Promise<T>): Promise<T>;
}

const MISSED_HISTORY_ENTRIES = 10;
const MAX_ATTEMPTS = 10;

/** When a task was paused (store time, ms, both ends included; untilMs is +Infinity while it still is). */
export interface PausedSpan {
  fromMs: number;
  untilMs: number;
}

/** The span in which fires of `task` were paused, as the store's decision tells it. */
export function pausedSpanOf(task: ScheduledTask, result: { pause?: PauseSpan; kind: string; reason?: string }): PausedSpan | undefined {
  const always = { fromMs: Number.NEGATIVE_INFINITY, untilMs: Number.POSITIVE_INFINITY };
  if (task.published.definition.paused) return always;
  const pausedAtMs = result.pause?.pausedAtMs;
  // Paused now, since a time the store no longer knows (its state was handed back after a restart).
  if (pausedAtMs === undefined) return result.kind === 'skipped' && result.reason === 'paused' ? always : undefined;
  const resumedAtMs = result.pause?.resumedAtMs;
  return { fromMs: pausedAtMs, untilMs: resumedAtMs !== undefined && resumedAtMs >= pausedAtMs ? resumedAtMs : Number.POSITIVE_INFINITY };
}

/** Writes runs and missed fires to the store's history, releasing the run's lease with it. */
export class RunRecorder {
  /** Completions whose write failed and is being retried: until they land, our leases prove nothing. */
  private retryingCompletions = 0;

  constructor(private readonly deps: RunRecorderDeps) {}

  /** Some finished runs are not yet recorded in the store (see Heartbeat.settling). */
  settling(): boolean {
    return this.retryingCompletions > 0;
  }

  /**
   * Records the fires nobody decided between the previous decided fire and this one (and this one
   * too when it was itself missed). Only the replica that decided this fire does it, so each missed
   * fire is counted once. Without a previous decision (new or lost store state) nothing is inferred.
   * Those that fell while the task was paused (`paused`) are skipped as paused, never missed.
   */
  async missed(task: ScheduledTask, previousMs: number | undefined, fireMs: number, includeFire: boolean, paused?: PausedSpan): Promise<void> {
    const name = task.published.definition.name;
    // The undecided fires: after the previous decision (none inferred without one), before this
    // fire, and this fire too when it was itself missed.
    const afterMs = previousMs === undefined ? fireMs - 1 : Math.max(previousMs, task.published.sinceMs - 1);
    const beforeMs = includeFire ? fireMs + 1 : fireMs;
    const wasPaused = (ms: number): boolean => paused !== undefined && paused.fromMs <= ms && ms <= paused.untilMs;
    if (paused) {
      const skipped = firesBetween(task.trigger, afterMs, beforeMs, 1, wasPaused);
      if (skipped.count > 0) this.deps.hub.emit('onSkip', { task: name, scheduledAt: new Date(skipped.latest[0] ?? fireMs), reason: 'paused', count: skipped.count });
    }
    const { count, latest: fires } = firesBetween(task.trigger, afterMs, beforeMs, MISSED_HISTORY_ENTRIES, (ms) => !wasPaused(ms));
    if (count === 0) return;
    const records: RunRecord[] = fires.map((ms) => ({
      task: name,
      scheduledAt: new Date(ms).toISOString(),
      startedAt: null,
      durationMs: null,
      outcome: 'missed',
      attempts: 0,
      replica: this.deps.replica,
      trigger: 'schedule',
    }));
    this.deps.logger.warn('fires missed: no replica could start them within their deadline', {
      task: name,
      count,
      latest: new Date(fires[fires.length - 1] ?? fireMs).toISOString(),
    });
    this.deps.hub.emit('onSkip', { task: name, scheduledAt: new Date(fires[fires.length - 1] ?? fireMs), reason: 'missed', count });
    await this.persist(name, records, undefined);
  }

  /** History is worth a few retries; after that the lease TTL frees the task anyway. */
  async persist(task: string, records: RunRecord[], run: { leaseToken: string; startedMs: number } | undefined): Promise<void> {
    const endMs = this.deps.store.now();
    let retrying = false;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.deps.withTimeout('complete', () => this.deps.store.complete(task, records, run?.leaseToken, endMs, run?.startedMs));
          return;
        } catch (error) {
          this.deps.hub.emit('onStoreError', 'complete', error as Error);
          // Unreadable keys do not heal by waiting: say which, once. The lease was released all the same.
          if (attempt >= MAX_ATTEMPTS || error instanceof StoreStateError) {
            this.deps.logger.error('could not record a run in the store', { task, error: (error as Error).message });
            return;
          }
          if (!retrying && run) {
            retrying = true;
            this.retryingCompletions++;
          }
          await this.deps.sleep(Math.min(100 * 2 ** attempt, 2_000));
        }
      }
    } finally {
      if (retrying) this.retryingCompletions--;
    }
  }
}
