import type { Progress, TaskStore } from '../store/task-store.js';
import type { Sleep } from '../time.js';
import type { HomeReplicas } from './home-replica.js';
import { OwnProgress, PeerProgress, type HomeStanding } from './home-progress.js';

/** Announcements of progress are coalesced: at most one per replica this often. */
const ANNOUNCE_EVERY_MS = 15;
/**
 * A home that has said nothing for this long since a fire's turn came is taken for gone by the
 * first replica in line after it (the next ones give it twice, three times... as long). A home
 * bursting thousands of fires on saturated cores can be silent for a good part of this.
 */
const FRESH_MS = 250;
/**
 * While this replica's own event loop runs late (it is loaded, and so, likely, is the machine or the
 * cluster), a home is given this many times that lag, up to MAX_LOADED_SILENCE_MS: under load every
 * word comes late, and claiming then only adds to the load. An unloaded replica judges a silent home
 * as quickly as ever, however long that home was silent before.
 */
const LOADED_SILENCE_FACTOR = 4;
const MAX_LOADED_SILENCE_MS = 2_000;
/**
 * While its claims are under way, a home announces at least this often even when it has decided
 * nothing new: a burst of thousands of fires takes it longer than FRESH_MS, and the others must
 * not mistake a busy home for a dead one (their claims would only add to the load).
 */
const KEEP_ALIVE_MS = 40;

/**
 * Lets a replica skip its safety-net claim of a fire whose home has already decided it. The home
 * pushes "decided through T" (OwnProgress) after its claims; the others check it (PeerProgress,
 * through SafetyNetWatch), and claim only if the home has not decided the fire and has gone quiet.
 * A lost announcement costs a claim, never a fire.
 */
export class SafetyNet {
  private readonly own = new OwnProgress();
  private readonly peers = new PeerProgress();
  private view = { digest: '', sinceMs: 0, tasksDigest: '' };
  private announcing = false;
  private readonly closed = new AbortController();
  private announcedMs = -1;
  private announcedView = '';
  private announcedTasks = '';
  private lastAnnouncementMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: TaskStore,
    private readonly home: HomeReplicas,
    private readonly instance: string,
    private readonly sleep: Sleep,
  ) {}

  /**
   * The live instances changed: a new view, for the fires due after `dispatchedThroughMs` (the ones
   * not yet dispatched: this replica claims them as home if the new view makes it their home).
   */
  viewChanged(dispatchedThroughMs: number): void {
    const live = this.home.live;
    this.view = { ...this.view, digest: this.home.viewDigest, sinceMs: dispatchedThroughMs + 1 };
    for (const instance of this.peers.instances()) if (!live.includes(instance)) this.peers.forget(instance);
    this.scheduleAnnounce(); // the others trust this replica's word again only once they hear it under the new view
  }

  /** The tasks this replica schedules changed (names and definitions, digested). */
  tasksChanged(tasksDigest: string): void {
    this.view = { ...this.view, tasksDigest };
    this.scheduleAnnounce();
  }

  /** True when what the peer's word can be trusted for may have changed. */
  heard(progress: Progress, nowMs: number): boolean {
    return progress.instance !== this.instance && this.peers.note(progress, nowMs);
  }

  /** Every home fire due at or before `throughMs` has been dispatched. */
  dispatched(throughMs: number): void {
    this.own.dispatched(throughMs);
    // The last dispatch of a burst may come after its claims have settled (non-home fires wake
    // later): the others park their timers only once told that nothing is due until the next burst.
    if (throughMs > this.announcedMs) this.scheduleAnnounce();
  }

  queued(atMs: number | undefined): void {
    if (atMs !== undefined) this.own.queued(atMs);
  }

  /**
   * This replica is the home of a fire due at `fromMs` (or of several, from `fromMs` on, that its
   * claim decides together): the callback for the end of its claim. Alone, there is nobody to tell
   * (a replica that joins later trusts only fires due after the view that includes it).
   */
  homeFire(fromMs: number, untilMs: number): ((decided: boolean) => void) | undefined {
    if (this.home.live.length < 2) return undefined;
    const id = this.own.begin(fromMs);
    this.scheduleAnnounce();
    return (decided) => {
      this.own.settle(id, decided, untilMs);
      this.scheduleAnnounce();
    };
  }

  /**
   * How the home of the tasks this replica is `rank` in line for stands. The first in line covers a
   * quiet home quickly; the others give it longer, in line, so that a home that is merely busy (a
   * burst of thousands of fires on saturated cores) costs at most one extra claim per fire, not one
   * per replica. `loopLagMs`: how late this replica's event loop has lately been running.
   * Undefined when this replica is the home, or cannot trust the home's word.
   */
  standingOf(home: string, rank: number, loopLagMs = 0): HomeStanding | undefined {
    if (home === this.instance) return undefined;
    const silenceMs = Math.max(FRESH_MS, Math.min(MAX_LOADED_SILENCE_MS, LOADED_SILENCE_FACTOR * loopLagMs));
    return this.peers.standing(home, this.view, silenceMs * Math.max(1, rank));
  }

  /** Whether every other live replica has announced under this replica's view and tasks (so they agree on every task's home). */
  get agreed(): boolean {
    return this.home.live.every((member) => member === this.instance || this.peers.standing(member, this.view, 0) !== undefined);
  }

  close(): void {
    this.closed.abort();
  }

  private scheduleAnnounce(): void {
    if (this.announcing || this.home.live.length < 2 || this.closed.signal.aborted) return;
    this.announcing = true;
    void this.sleep(ANNOUNCE_EVERY_MS, this.closed.signal).then(() => {
      this.announcing = false;
      if (this.closed.signal.aborted) return;
      const now = this.store.now();
      const throughMs = this.own.through(now);
      // New tasks count as news: the others trust this replica's word only under the tasks they hold.
      const progressed = throughMs > this.announcedMs || this.view.digest !== this.announcedView || this.view.tasksDigest !== this.announcedTasks;
      if (progressed || (this.own.busy && now - this.lastAnnouncementMs >= KEEP_ALIVE_MS)) {
        this.announcedMs = throughMs;
        this.announcedView = this.view.digest;
        this.announcedTasks = this.view.tasksDigest;
        this.lastAnnouncementMs = now;
        const { digest, sinceMs, tasksDigest } = this.view;
        void this.store
          .announceProgress({ instance: this.instance, throughMs, viewDigest: digest, viewSinceMs: sinceMs, tasksDigest })
          .catch(() => {}); // the others' safety-net claims cover a lost announcement
      }
      if (this.own.busy) this.scheduleAnnounce();
    }, () => (this.announcing = false));
  }
}
