import type { TaskStore } from '../store/task-store.js';
import type { Sleep } from '../time.js';

/** Why the renewal loop's sleep is cut short: a constant, so aborting does not build an exception. */
const IDLE = Symbol('no lease held');

export interface LeaseKeeperDeps {
  store: TaskStore;
  sleep: Sleep;
  leaseTtlMs: number;
  instance: string;
  /** A store call that takes longer than this counts as failed. */
  withTimeout<T>(operation: string, call: () => Promise<T>): Promise<T>;
  onTaken(task: string): void;
  onError(error: Error): void;
}

/**
 * Renews the leases of this replica's running runs, all in one loop every third of the TTL, so one
 * lost renewal never frees a task. One loop for every run keeps a run's start cheap: no timer and
 * no abort controller per run.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, string>(); // token -> task
  private idle: AbortController | undefined;

  constructor(private readonly deps: LeaseKeeperDeps) {}

  hold(task: string, token: string): void {
    this.held.set(token, task);
    if (!this.idle) void this.loop((this.idle = new AbortController()));
  }

  release(token: string): void {
    this.held.delete(token);
    if (this.held.size === 0) {
      this.idle?.abort(IDLE);
      this.idle = undefined;
    }
  }

  private async loop(idle: AbortController): Promise<void> {
    const { store, sleep, leaseTtlMs, instance } = this.deps;
    while (!idle.signal.aborted) {
      await sleep(leaseTtlMs / 3, idle.signal);
      if (idle.signal.aborted) return;
      await Promise.all(
        [...this.held].map(async ([token, task]) => {
          try {
            const renewal = await this.deps.withTimeout('renew', () => store.renewLease(task, token, leaseTtlMs, instance));
            if (renewal === 'taken') this.deps.onTaken(task);
          } catch (error: unknown) {
            try {
              this.deps.onError(error as Error);
            } catch {
              // a reporting failure must never stop the renewals
            }
          }
        }),
      );
    }
  }
}
