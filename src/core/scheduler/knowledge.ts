import type { DefinitionSet } from '../definitions.js';
import type { PauseState, RecoverySnapshot } from '../store/task-store.js';

/**
 * What this replica has learned from the store. If the store loses its state (Redis restarted
 * without persistence), the replicas hand this back so decided fires stay decided and pauses stay.
 */
export class ReplicaKnowledge {
  set: DefinitionSet | undefined;
  private readonly decided = new Map<string, { scheduledMs: number; token: string }>();
  readonly pauses = new Map<string, PauseState>();
  private readonly leases = new Map<string, { task: string; token: string; startedMs: number }>();
  private readonly released = new Map<string, { task: string; token: string; startedMs: number; endedMs: number }>();

  constructor(
    private readonly leaseTtlMs: number,
    private readonly instance: string,
  ) {}

  noteDecided(task: string, scheduledMs: number, token: string): void {
    const known = this.decided.get(task);
    if (!known || known.scheduledMs < scheduledMs || (known.scheduledMs === scheduledMs && token !== '')) {
      this.decided.set(task, { scheduledMs, token });
    }
  }

  /** The latest fire of the task this replica knows was decided (by anyone). */
  decidedThrough(task: string): number | undefined {
    return this.decided.get(task)?.scheduledMs;
  }

  /** `startedMs`: when the run started (store time). */
  holdLease(task: string, token: string, startedMs: number): void {
    this.leases.set(token, { task, token, startedMs });
  }

  dropLease(token: string): void {
    this.leases.delete(token);
  }

  /** The run holding `token`, started at `startedMs`, ended at `endedMs` (store time) and released its lease. */
  noteReleased(task: string, token: string, startedMs: number, endedMs: number): void {
    this.released.set(token, { task, token, startedMs, endedMs });
    this.forgetReleasedBefore(endedMs - this.leaseTtlMs);
  }

  /** Releases are kept in the order the runs ended: the expired ones are at the front. */
  private forgetReleasedBefore(ms: number): void {
    for (const [token, release] of this.released) {
      if (release.endedMs >= ms) return;
      this.released.delete(token);
    }
  }

  /** `nowMs`: store time, to forget releases older than a lease TTL (the lease has expired anyway). */
  snapshot(nowMs: number): RecoverySnapshot {
    this.forgetReleasedBefore(nowMs - this.leaseTtlMs);
    return {
      set: this.set,
      decided: [...this.decided].map(([task, d]) => ({ task, scheduledMs: d.scheduledMs, token: d.token })),
      pauses: [...this.pauses].map(([task, state]) => ({ task, state })),
      leases: [...this.leases.values()].map((l) => ({ ...l, ttlMs: this.leaseTtlMs, instance: this.instance })),
      released: [...this.released.values()],
    };
  }
}
