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
  /** Every home fire due at or before this has been dispatched. */
  private dispatchedThroughMs = -1;

  begin(fireMs: number): number {
    const id = ++this.ids;
    this.open.set(id, { fireMs, untilMs: Number.POSITIVE_INFINITY });
    return id;
  }

  /** A claim ended: decided, or not (stale definition, stopping): then its fire holds the mark back until `untilMs`. */
  settle(id: number, decided: boolean, untilMs: number): void {
    const entry = this.open.get(id);
    if (!entry) return;
    if (decided) this.open.delete(id);
    else entry.untilMs = untilMs; // dropped by through() once past
  }

  /** The timer dispatched every home fire due at or before `ms`. */
  dispatched(ms: number): void {
    this.dispatchedThroughMs = ms;
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

  note(progress: Progress, receivedMs: number): void {
    const known = this.peers.get(progress.instance);
    const same = known && known.progress.viewDigest === progress.viewDigest && known.progress.tasksDigest === progress.tasksDigest;
    if (same && known.progress.throughMs > progress.throughMs) return;
    this.peers.set(progress.instance, { progress, receivedMs });
  }

  instances(): string[] {
    return [...this.peers.keys()];
  }

  forget(instance: string): void {
    this.peers.delete(instance);
  }

  /**
   * 'covered' when `home` has announced the fire decided under the same view of the replicas (so it
   * is the task's home in its eyes too) and the same scheduled tasks (so it schedules this one);
   * 'wait' while its announcements are fresh but not there yet; else 'claim'.
   */
  judge(home: string, fireMs: number, view: { digest: string; tasksDigest: string }, nowMs: number, freshMs: number): 'covered' | 'wait' | 'claim' {
    const known = this.peers.get(home);
    if (!known) return 'claim';
    const { progress } = known;
    if (progress.viewDigest !== view.digest || progress.tasksDigest !== view.tasksDigest || progress.viewSinceMs > fireMs) return 'claim';
    if (progress.throughMs >= fireMs) return 'covered';
    return nowMs - known.receivedMs <= freshMs ? 'wait' : 'claim';
  }
}
