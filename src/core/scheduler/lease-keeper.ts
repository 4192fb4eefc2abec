import type { TaskStore } from '../store/task-store.js';
import type { Sleep } from '../time.js';

/** Why the renewal loop's sleep is cut short: a constant, so aborting does not build an exception. */
const IDLE = Symbol('no lease held');

/**
 * A run still going this long after it started tells the store when it started, in ms. Until then
 * the store knows only when its claim was decided, and fires due meanwhile wait (claim.lua): most
 * runs end sooner, and their completion tells it instead, at no extra cost.
 */
export const START_NOTE_AFTER_MS = 100;

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

interface HeldLease {
  task: string;
  /** When the run started, store time. */
  startedMs: number;
}

/**
 * Renews the leases of this replica's running runs, all in one loop every third of the TTL, so one
 * lost renewal never frees a task, and tells the store when runs started, in one pass for the runs
 * that started close together. One loop for every run keeps a run's start cheap: no timer and no
 * abort controller per run.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, HeldLease>(); // by token
  /** Runs whose start the store has not been told of yet. */
  private readonly unnoted = new Set<string>();
  private idle: AbortController | undefined;
  private noting = false;

  constructor(private readonly deps: LeaseKeeperDeps) {}

  hold(task: string, token: string, startedMs: number): void {
    this.held.set(token, { task, startedMs });
    this.unnoted.add(token);
    if (!this.idle) void this.loop((this.idle = new AbortController()));
    if (!this.noting) void this.noteStarts(this.idle.signal);
  }

  release(token: string): void {
    this.held.delete(token);
    this.unnoted.delete(token);
    if (this.held.size === 0) {
      this.idle?.abort(IDLE);
      this.idle = undefined;
    }
  }

  private async loop(idle: AbortController): Promise<void> {
    while (!idle.signal.aborted) {
      await this.deps.sleep(this.deps.leaseTtlMs / 3, idle.signal);
      if (idle.signal.aborted) return;
      this.unnoted.clear(); // a renewal tells the start too
      await Promise.all([...this.held.keys()].map((token) => this.renew(token)));
    }
  }

  /**
   * One pass for every run that started within START_NOTE_AFTER_MS of the first. A note that did
   * not get through is sent again on the next pass: until it lands, fires due meanwhile wait.
   */
  private async noteStarts(idle: AbortSignal): Promise<void> {
    this.noting = true;
    await this.deps.sleep(START_NOTE_AFTER_MS, idle).catch(() => {}); // released meanwhile: nothing left to note
    this.noting = false;
    const tokens = [...this.unnoted];
    this.unnoted.clear();
    const noted = await Promise.all(tokens.map((token) => this.renew(token)));
    tokens.forEach((token, i) => {
      if (!noted[i] && this.held.has(token)) this.unnoted.add(token);
    });
    if (this.unnoted.size > 0 && !this.noting && this.idle) void this.noteStarts(this.idle.signal);
  }

  /** True when the store took the renewal (and with it the run's start). */
  private async renew(token: string): Promise<boolean> {
    const { store, leaseTtlMs, instance } = this.deps;
    const lease = this.held.get(token);
    if (!lease) return true;
    try {
      const renewal = await this.deps.withTimeout('renew', () => store.renewLease(lease.task, token, leaseTtlMs, instance, lease.startedMs));
      if (renewal === 'taken') this.deps.onTaken(lease.task);
      return true;
    } catch (error: unknown) {
      try {
        this.deps.onError(error as Error);
      } catch {
        // a reporting failure must never stop the renewals
      }
      return false;
    }
  }
}
