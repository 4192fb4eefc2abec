import type { ScheduledTask } from './scheduled-task.js';
import { verdictFor, type HomeStanding, type SafetyNetVerdict } from './home-progress.js';

export interface Watched {
  task: ScheduledTask;
  name: string;
  fireMs: number;
  /** When the fire is due with its jitter: the home claims it then, and nobody claims it before. */
  turnMs: number;
  /** Until when to wait for the home's word while the home is heard from. */
  claimByMs: number;
  catchUp: boolean;
}

/** A task this replica has no timer for: its home's word covers its fires from `fromMs` on. */
interface Parked {
  task: ScheduledTask;
  fromMs: number;
  /** How long past a due fire the home's silence is borne (see shouldUnpark). */
  patienceMs: number;
}

export interface LineSweeper {
  /** This replica already knows the fire was decided (it lost a claim of it, or of a later fire). */
  known(watched: Watched): boolean;
  claim(watched: Watched): void;
  /** The fire left the line, claimed or decided. */
  left(watched: Watched): void;
  /** A parked task needs its timer back, for its fires after `afterMs`. */
  unpark(task: ScheduledTask, afterMs: number): void;
}

/** A waiting fire's verdict: covered when this replica already knows it decided, else as its home stands. */
export function verdictOf(watched: Watched, standing: HomeStanding | undefined, now: number, sweeper: Pick<LineSweeper, 'known'>): SafetyNetVerdict {
  return sweeper.known(watched) ? 'covered' : verdictFor(standing, watched.fireMs, watched.turnMs, now);
}

/** Past this many settled fires at the front, the array is compacted. */
const COMPACT_AFTER = 1024;

/**
 * The fires of one home that this replica is the same place in line for.
 *
 * Waiting fires are kept by scheduled time: the home's announcements cover them from the front, so
 * most leave without being looked at one by one, and the whole line is gone through only when one
 * of them may be claimed. (At 10,000 tasks on 5 replicas, looking at every waiting fire on every
 * sweep was a fifth of a replica's CPU.)
 *
 * Parked tasks have no timer at all while the home keeps announcing its progress under the same
 * view: each replica then spends nothing on the fires of the tasks it is not the home of (at
 * 10,000 tasks, 5 replicas spent 150 µs of CPU per fire against 55 for one). When the home falls
 * behind or silent, or its word can no longer be trusted, the tasks get their timers back from
 * the first fire it has not covered, in time for their safety-net turn.
 */
export class WatchLine {
  private fires: Watched[] = [];
  private head = 0;
  /** No waiting fire's turn comes before this (a lower bound until the next full pass). */
  private earliestTurnMs = Number.POSITIVE_INFINITY;
  /** No waiting fire may be claimed from a home still heard from before this (likewise). */
  private earliestClaimByMs = Number.POSITIVE_INFINITY;
  private readonly parked = new Map<string, Parked>();
  /** The home's view when the parked tasks were parked: their cover holds only under it. */
  private parkedViewSinceMs = Number.NaN;
  /** The home has announced every fire of its through this decided (under that view). */
  private coveredMs = Number.NEGATIVE_INFINITY;
  private parkedPatienceMs = Number.POSITIVE_INFINITY;
  /** No parked task has a fire left to cover before this. */
  private parkedFromMs = Number.POSITIVE_INFINITY;

  constructor(
    readonly home: string,
    readonly rank: number,
  ) {}

  /** Waiting fires. */
  get size(): number {
    return this.fires.length - this.head;
  }

  get empty(): boolean {
    return this.size === 0 && this.parked.size === 0;
  }

  /**
   * Parks `task` from its fire due at `fromMs` on, when the home's word covers it: trusted, under
   * a view that began before that fire, and keeping up. False: keep the timer.
   */
  park(task: ScheduledTask, fromMs: number, patienceMs: number, standing: HomeStanding | undefined, now: number): boolean {
    if (!standing || standing.viewSinceMs > fromMs) return false;
    if (this.parked.size > 0 && standing.viewSinceMs !== this.parkedViewSinceMs) return false; // unparked at the next sweep
    const wasEmpty = this.parked.size === 0;
    if (now > this.unparkAfterMs(standing, Math.min(this.parkedPatienceMs, patienceMs), wasEmpty ? fromMs : Math.min(this.parkedFromMs, fromMs))) return false;
    if (wasEmpty) {
      this.parkedViewSinceMs = standing.viewSinceMs;
      this.coveredMs = standing.throughMs;
    }
    this.parked.set(task.published.definition.name, { task, fromMs, patienceMs });
    this.parkedPatienceMs = Math.min(this.parkedPatienceMs, patienceMs);
    this.parkedFromMs = Math.min(this.parkedFromMs, fromMs);
    return true;
  }

  /**
   * Gives every parked task its timer back, for the fires the home has not announced decided (and
   * never from later than now: a home's word about the future only says nothing of its is due).
   */
  unparkAll(sweeper: LineSweeper, now: number): void {
    const parked = [...this.parked.values()];
    this.parked.clear();
    this.parkedPatienceMs = Number.POSITIVE_INFINITY;
    this.parkedFromMs = Number.POSITIVE_INFINITY;
    const coveredMs = Math.min(this.coveredMs, now);
    for (const { task, fromMs } of parked) sweeper.unpark(task, Math.max(coveredMs, fromMs - 1));
  }

  /** Fires arrive nearly in order (by when their turn is near): the place is found from the back. */
  add(watched: Watched): void {
    let at = this.fires.length;
    while (at > this.head && this.fires[at - 1]!.fireMs > watched.fireMs) at--;
    if (at === this.fires.length) this.fires.push(watched);
    else this.fires.splice(at, 0, watched);
    this.earliestTurnMs = Math.min(this.earliestTurnMs, watched.turnMs);
    this.earliestClaimByMs = Math.min(this.earliestClaimByMs, watched.claimByMs);
  }

  /** Takes the waiting fires out, all of them or those of one task, in order. */
  take(task?: string): Watched[] {
    const waiting = this.fires.slice(this.head);
    const taken = task === undefined ? waiting : waiting.filter((w) => w.name === task);
    this.replace(task === undefined ? [] : waiting.filter((w) => w.name !== task));
    return taken;
  }

  /**
   * Lets go of the fires the home has announced decided, then, if any fire may be claimed by now,
   * goes through the line: a fire is claimed once its turn has come and the home is quiet (or
   * cannot be trusted) or too slow for it. A fire waits while an earlier fire of its task waits.
   */
  sweep(standing: HomeStanding | undefined, now: number, sweeper: LineSweeper): void {
    if (this.parked.size > 0) this.sweepParked(standing, now, sweeper);
    if (standing) this.dropAnnounced(standing, sweeper);
    if (!this.mayClaim(standing, now)) return;
    let held: Set<string> | undefined;
    const kept: Watched[] = [];
    for (let i = this.head; i < this.fires.length; i++) {
      const watched = this.fires[i]!;
      const verdict = verdictOf(watched, standing, now, sweeper);
      if (verdict !== 'covered') {
        if (held?.has(watched.name) || now < watched.turnMs || (verdict === 'wait' && now < watched.claimByMs)) {
          (held ??= new Set()).add(watched.name);
          kept.push(watched);
          continue;
        }
        sweeper.claim(watched);
      }
      sweeper.left(watched);
    }
    this.replace(kept);
  }

  /**
   * The earliest moment the parked tasks may need their timers back, as the home stands now (its
   * later word only moves it later, unless the home's view changes: then the watch is nudged).
   * Undefined when nothing is parked; `now` when they need them already.
   */
  parkedCheckMs(standing: HomeStanding | undefined, now: number): number | undefined {
    if (this.parked.size === 0) return undefined;
    if (!standing || standing.viewSinceMs !== this.parkedViewSinceMs) return now;
    return this.unparkAfterMs(standing, this.parkedPatienceMs, this.parkedFromMs) + 1;
  }

  private sweepParked(standing: HomeStanding | undefined, now: number, sweeper: LineSweeper): void {
    const trusted = standing !== undefined && standing.viewSinceMs === this.parkedViewSinceMs;
    if (trusted) this.coveredMs = Math.max(this.coveredMs, standing.throughMs);
    if (!trusted || now > this.unparkAfterMs(standing, this.parkedPatienceMs, this.parkedFromMs)) this.unparkAll(sweeper, now);
  }

  /**
   * Past this moment, a parked fire the home has not covered may be due (none is before `fromMs`)
   * and the home quiet or slow. Judged at half the silence and half the patience a waiting fire is
   * given, so that the fires back on their timers reach their own verdict in time.
   */
  private unparkAfterMs(standing: HomeStanding, patienceMs: number, fromMs: number): number {
    const dueMs = Math.max(standing.throughMs + 1, fromMs);
    const quietMs = Math.max(standing.heardMs, dueMs) + standing.freshMs / 2;
    return Math.max(dueMs, Math.min(quietMs, dueMs + patienceMs / 2));
  }

  private dropAnnounced(standing: HomeStanding, sweeper: LineSweeper): void {
    while (this.head < this.fires.length) {
      const watched = this.fires[this.head]!;
      if (watched.fireMs < standing.viewSinceMs || watched.fireMs > standing.throughMs) break;
      this.head++;
      sweeper.left(watched);
    }
    if (this.head === this.fires.length) this.replace([]);
    else if (this.head > COMPACT_AFTER && this.head * 2 > this.fires.length) this.replace(this.fires.slice(this.head));
  }

  /** Whether some fire's verdict may let it be claimed now (see verdictFor). */
  private mayClaim(standing: HomeStanding | undefined, now: number): boolean {
    if (this.size === 0) return false;
    const untrusted = !standing || this.fires[this.head]!.fireMs < standing.viewSinceMs;
    const quiet = untrusted || now - standing.heardMs > standing.freshMs;
    if (quiet && now >= this.earliestTurnMs + (untrusted ? 0 : standing.freshMs)) return true;
    return now >= this.earliestClaimByMs;
  }

  private replace(fires: Watched[]): void {
    this.fires = fires;
    this.head = 0;
    this.earliestTurnMs = Number.POSITIVE_INFINITY;
    this.earliestClaimByMs = Number.POSITIVE_INFINITY;
    for (const watched of fires) {
      this.earliestTurnMs = Math.min(this.earliestTurnMs, watched.turnMs);
      this.earliestClaimByMs = Math.min(this.earliestClaimByMs, watched.claimByMs);
    }
  }
}
