import { randomBytes } from 'node:crypto';
import { HISTORY_LIMIT, type RecoverySnapshot } from '../task-store.js';
import type { ClaimAcknowledger } from './claim-acks.js';
import type { RedisKeys } from './keys.js';
import type { RedisClient } from './lua-script.js';
import { msOrBlank, scripts } from './scripts.js';

const NOTHING_KNOWN: RecoverySnapshot = { set: undefined, decided: [], pauses: [], leases: [], released: [] };

/**
 * Gives Redis back what the replicas know when it lost it: after a restart without persistence
 * (a new epoch), and after any reconnection (a failover to a replica that may lag). Every merge
 * keeps whichever is newer, so handing back twice, or from several replicas, is harmless.
 */
export class StoreRecovery {
  /** What this replica knows, handed back on recovery (set by the scheduler). */
  source: () => RecoverySnapshot = () => NOTHING_KNOWN;
  private knownEpoch: string | undefined;
  /** Told when this replica finds that the store lost its state and opens (or joins) a recovery window. */
  onLost: (windowMs: number) => void = () => {};
  private handBackPending = false;
  private handingBack: Promise<void> | undefined;
  private recovery: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly recoveryWindowMs: number,
    private readonly acks: ClaimAcknowledger | undefined,
  ) {}

  /** The connection was re-established: hand back before the next decision. */
  reconnected(): void {
    this.handBackPending = true;
  }

  /** Whether the epoch a beat read means Redis lost its state (or was restored from another one). */
  epochLost(epoch: string): boolean {
    return epoch === '' || (this.knownEpoch !== undefined && epochId(epoch) !== epochId(this.knownEpoch));
  }

  epochSeen(epoch: string): void {
    this.knownEpoch = epoch;
  }

  /** Runs a script; if Redis answers that it lost its state, restores it and runs the script again. */
  async withRecovery(call: () => Promise<unknown>): Promise<unknown> {
    const reply = await call();
    if (!Array.isArray(reply) || reply[0] !== 'reset') return reply;
    await this.recover();
    return call();
  }

  /** One recovery at a time per replica; concurrent callers share it. */
  recover(): Promise<void> {
    this.recovery ??= this.restore().finally(() => (this.recovery = undefined));
    return this.recovery;
  }

  /** One hand-back at a time; every caller waits for it, and a failed one is tried again by the next. */
  async handBackIfPending(): Promise<void> {
    if (this.handBackPending && !this.handingBack) {
      this.handBackPending = false;
      this.handingBack = this.handBack(true)
        .catch((error: unknown) => {
          this.handBackPending = true;
          throw error;
        })
        .finally(() => (this.handingBack = undefined));
    }
    if (this.handingBack) await this.handingBack;
  }

  private async restore(): Promise<void> {
    // A replica that never saw an epoch and knows nothing has nothing to hand back: as far as it
    // knows the scheduler is brand new, it opens no window, and the first fires run on time. (A live
    // replica that saw the epoch vanish opens the window on it within a heartbeat: restore-epoch.lua.)
    const known = this.source();
    const lost = this.knownEpoch !== undefined || known.set !== undefined || known.decided.length > 0 || known.leases.length > 0;
    const window = lost ? this.recoveryWindowMs : 0;
    const epoch = (await scripts.restoreEpoch.run(this.redis, [this.keys.epoch], [randomBytes(6).toString('hex'), window])) as string;
    if (lost) this.onLost(window);
    await this.handBack(false);
    // Only once everything is handed back: a failed step makes the next heartbeat try again.
    this.knownEpoch = epoch;
  }

  /**
   * Merges what this replica knows into the store; every step keeps whichever is newer. After a mere
   * reconnection with acknowledged claims, fires this replica only saw decided by others stay out:
   * it may have seen them on a replaced primary, where a claim nobody acknowledged (and nobody ran)
   * looks decided; every acknowledged decision is on the new primary already.
   */
  private async handBack(reconnected: boolean): Promise<void> {
    const k = this.keys;
    const snapshot = this.source();
    const steps: Array<Promise<unknown>> = [];
    const set = snapshot.set;
    if (set) {
      const triples = set.tasks.flatMap((t) => [t.definition.name, t.digest, t.sinceMs]);
      const body = JSON.stringify(set.tasks.map((t) => t.definition));
      steps.push(
        scripts.restoreDefinitions.run(this.redis, [k.definitions], [set.version, set.generation, set.digest, set.publishedAtMs, body, ...triples]),
      );
    }
    const decided = reconnected && this.acks ? snapshot.decided.filter((d) => d.token !== '') : snapshot.decided;
    for (const d of decided) steps.push(scripts.restoreTask.run(this.redis, [k.taskState(d.task)], [d.scheduledMs, d.token]));
    for (const l of snapshot.leases) {
      steps.push(scripts.renewLease.run(this.redis, [k.lease(l.task), k.taskState(l.task)], [l.token, l.ttlMs, l.instance, msOrBlank(l.startedMs)]));
    }
    // A release the failover lost would hold the task for the rest of the lease TTL: release again.
    for (const r of snapshot.released) {
      steps.push(scripts.complete.run(this.redis, [k.taskState(r.task), k.lease(r.task), k.history(r.task)], [HISTORY_LIMIT, r.token, Math.round(r.endedMs), msOrBlank(r.startedMs), 0]));
    }
    for (const p of snapshot.pauses) {
      steps.push(scripts.restorePause.run(this.redis, [k.pauses, k.pauseSeq], [p.task, p.state.paused ? '1' : '0', p.state.seq]));
    }
    await Promise.all(steps);
  }
}

/** An epoch marker's identity, without its recovery deadline (which a later replica may set). */
function epochId(epoch: string): string {
  const colon = epoch.lastIndexOf(':');
  return colon < 0 ? epoch : epoch.slice(0, colon);
}
