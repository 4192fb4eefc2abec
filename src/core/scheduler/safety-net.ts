import type { Progress, TaskStore } from '../store/task-store.js';
import type { Sleep } from '../time.js';
import type { SafetyNetVerdict } from './fire-runner.js';
import type { HomeReplicas } from './home-replica.js';
import { OwnProgress, PeerProgress } from './home-progress.js';

/** Announcements of progress are coalesced: at most one per replica this often. */
const ANNOUNCE_EVERY_MS = 15;
/** A home whose last announcement is this recent is alive: its next one is worth waiting for. */
const FRESH_MS = 100;

/**
 * Lets a replica skip its safety-net claim of a fire whose home has already decided it. The home
 * pushes "decided through T" (OwnProgress) after its claims; the others check it (PeerProgress) when
 * their safety-net turn comes, and claim only if the home has not decided the fire, or has gone
 * quiet. A lost announcement costs a claim, never a fire.
 */
export class SafetyNet {
  private readonly own = new OwnProgress();
  private readonly peers = new PeerProgress();
  private view = { digest: '', sinceMs: 0, tasksDigest: '' };
  private announcing = false;
  private readonly closed = new AbortController();
  private announcedMs = -1;
  private announcedView = '';

  constructor(
    private readonly store: TaskStore,
    private readonly home: HomeReplicas,
    private readonly instance: string,
    private readonly sleep: Sleep,
  ) {}

  /** The live instances changed: a new view, from now on. */
  viewChanged(nowMs: number): void {
    const live = this.home.live;
    this.view = { ...this.view, digest: this.home.viewDigest, sinceMs: nowMs };
    for (const instance of this.peers.instances()) if (!live.includes(instance)) this.peers.forget(instance);
  }

  /** The tasks this replica schedules changed (names and definitions, digested). */
  tasksChanged(tasksDigest: string): void {
    this.view = { ...this.view, tasksDigest };
  }

  heard(progress: Progress, nowMs: number): void {
    if (progress.instance !== this.instance) this.peers.note(progress, nowMs);
  }

  dispatched(nowMs: number): void {
    this.own.dispatched(nowMs);
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
    return (decided) => {
      this.own.settle(id, decided, untilMs);
      this.scheduleAnnounce();
    };
  }

  /** Not the fire's home: what to do when the safety-net turn comes, waiting at most `graceMs` past the fire's turn. */
  verdict(task: string, fireMs: number, graceMs: number): (turnMs: number) => SafetyNetVerdict {
    return (turnMs) => {
      const home = this.home.homeOf(task);
      if (home === undefined || home === this.instance) return 'claim';
      const now = this.store.now();
      const verdict = this.peers.judge(home, fireMs, this.view, now, FRESH_MS);
      return verdict === 'wait' && now >= turnMs + graceMs ? 'claim' : verdict;
    };
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
      const throughMs = this.own.through(this.store.now());
      if (throughMs <= this.announcedMs && this.view.digest === this.announcedView) return;
      this.announcedMs = throughMs;
      this.announcedView = this.view.digest;
      const { digest, sinceMs, tasksDigest } = this.view;
      void this.store
        .announceProgress({ instance: this.instance, throughMs, viewDigest: digest, viewSinceMs: sinceMs, tasksDigest })
        .catch(() => {}); // the others' safety-net claims cover a lost announcement
    }, () => (this.announcing = false));
  }
}
