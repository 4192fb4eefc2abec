import type { Progress } from '../store/task-store.js';

/**
 * How far this replica, as the home of its tasks, has decided their fires: every fire it
 * dispatched as home, due at or before `through`, has been decided in the store. The others read it
 * (pushed through the store) to skip their safety-net claim of a fire the home already decided.
 */
export class OwnProgress {
  /** Home fires whose claim is under way, or ended undecided (kept until the others stop asking). */
  private readonly open = new Map<number, { fireMs: number; untilMs: number }>();
  private ids = 0;
  /** Home fires whose claim is still under way. */
  private claiming = 0;
  /** Every home fire due at or before this has been dispatched. */
  private dispatchedThroughMs = -1;

  begin(fireMs: number): number {
    const id = ++this.ids;
    this.open.set(id, { fireMs, untilMs: Number.POSITIVE_INFINITY });
    this.claiming++;
    return id;
  }

  /** A claim ended: decided, or not (stale definition, stopping): then its fire holds the mark back until `untilMs`. */
  settle(id: number, decided: boolean, untilMs: number): void {
    const entry = this.open.get(id);
    if (!entry || entry.untilMs !== Number.POSITIVE_INFINITY) return;
    this.claiming--;
    if (decided) this.open.delete(id);
    else entry.untilMs = untilMs; // dropped by through() once past
  }

  /** Whether claims of home fires are under way (the others should keep waiting for them). */
  get busy(): boolean {
    return this.claiming > 0;
  }

  /** The timer dispatched every home fire due at or before `ms`. */
  dispatched(ms: number): void {
    // Monotone: the next wake may move earlier for non-home entries (tasks given their timer back),
    // which says nothing new about home fires; a home entry queued early goes through queued().
    this.dispatchedThroughMs = Math.max(this.dispatchedThroughMs, ms);
  }

  /** A fire due at `atMs` was queued after the timer passed it (a reload, a new place in line). */
  queued(atMs: number): void {
    this.dispatchedThroughMs = Math.min(this.dispatchedThroughMs, atMs - 1);
  }

  through(nowMs: number): number {
    let through = this.dispatchedThroughMs;
    for (const [id, entry] of this.open) {
      if (entry.untilMs < nowMs) this.open.delete(id);
      else through = Math.min(through, entry.fireMs - 1);
    }
    return through;
  }
}

/** What the other replicas last announced, and when it arrived (store time). */
export class PeerProgress {
  private readonly peers = new Map<string, { progress: Progress; receivedMs: number }>();

  /** True when the peer is new, or its view or tasks changed (what its word can be trusted for). */
  note(progress: Progress, receivedMs: number): boolean {
    const known = this.peers.get(progress.instance);
    const same = known && known.progress.viewDigest === progress.viewDigest && known.progress.tasksDigest === progress.tasksDigest;
    // Under the same view and tasks, what was decided stays decided: a lower mark (an announcement
    // overtaken by a later one, or a home whose next wake moved earlier) keeps the higher one, but
    // still counts as hearing from the home.
    const sameEpoch = same && known.progress.viewSinceMs === progress.viewSinceMs;
    if (sameEpoch && known.progress.throughMs > progress.throughMs) progress = { ...progress, throughMs: known.progress.throughMs };
    this.peers.set(progress.instance, { progress, receivedMs });
    return !same || known.progress.viewSinceMs !== progress.viewSinceMs;
  }

  instances(): string[] {
    return [...this.peers.keys()];
  }

  forget(instance: string): void {
    this.peers.delete(instance);
  }

  /**
   * How `home` stands: trusted only under the same view of the replicas (so it is the task's home in
   * its eyes too) and the same scheduled tasks (so it schedules the task). Undefined when its word
   * cannot be trusted.
   */
  standing(home: string, view: { digest: string; tasksDigest: string }, freshMs: number): HomeStanding | undefined {
    const known = this.peers.get(home);
    if (!known) return undefined;
    const { progress } = known;
    if (progress.viewDigest !== view.digest || progress.tasksDigest !== view.tasksDigest) return undefined;
    return { throughMs: progress.throughMs, viewSinceMs: progress.viewSinceMs, heardMs: known.receivedMs, freshMs };
  }
}

export interface HomeStanding {
  /** Every fire of its due at or before this is decided. */
  throughMs: number;
  /** It dispatched the fires due from this on under this view: earlier ones may not have been its own. */
  viewSinceMs: number;
  /** When it was last heard from. */
  heardMs: number;
  /** How long it may stay silent, once a fire's turn has come, before it counts as gone. */
  freshMs: number;
}

export type SafetyNetVerdict = 'covered' | 'wait' | 'claim';

/**
 * 'covered' when the home has announced the fire decided; 'wait' while it is heard from; 'claim'
 * when its word cannot be trusted, or it has said nothing for `freshMs` since the fire's turn came
 * (a home is silent between its bursts: only silence after the fire was due counts).
 */
export function verdictFor(standing: HomeStanding | undefined, fireMs: number, turnMs: number, nowMs: number): SafetyNetVerdict {
  if (!standing || standing.viewSinceMs > fireMs) return 'claim';
  if (standing.throughMs >= fireMs) return 'covered';
  return nowMs - Math.max(standing.heardMs, turnMs) > standing.freshMs ? 'claim' : 'wait';
}
