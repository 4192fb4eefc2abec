import { whenAborted, type Sleep } from '../time.js';
import type { ScheduledTask } from './scheduled-task.js';
import type { HomeReplicas } from './home-replica.js';
import type { ReplicaKnowledge } from './knowledge.js';
import type { SafetyNet } from './safety-net.js';
import { verdictOf, WatchLine, type LineSweeper, type Watched } from './watch-line.js';

/** While a home's announcement is due, the waiting fires are looked at again this often. */
const RECHECK_MS = 20;
/**
 * With only parked tasks, the sweep sleeps until one of them may need its timer back, but at most
 * this long. (Sweeping every RECHECK_MS regardless cost each replica more CPU than it saved: waking
 * a process 50 times a second is not free on a loaded machine.)
 */
const MAX_PARKED_SLEEP_MS = 1_000;
/**
 * A home that is heard from is waited for up to this share of the fire's deadline: it is alive and
 * reaches Redis, so it will decide the fire. Claiming sooner would only add load to a cluster
 * that is slow because it is loaded (and a slow home's announcement lags behind all its fires).
 */
const PATIENCE = 0.5;
const NUDGED = 'nudged';
const LAG_HALF_LIFE_MS = 1_000;

export interface SafetyNetWatchDeps {
  safetyNet: SafetyNet;
  home: HomeReplicas;
  knowledge: ReplicaKnowledge;
  now(): number;
  sleep: Sleep;
  stopping: AbortSignal;
  /** The home did not decide the fire in time: claim it (in order with the task's other claims). */
  claim(task: ScheduledTask, fireMs: number, catchUp: boolean): void;
  /** A parked task gets its timer back, from its first fire after `afterMs`. */
  unpark(task: ScheduledTask, afterMs: number): void;
  /** A sweep failed (a bug): it is reported, and the watch goes on. */
  onError(error: Error): void;
}

/**
 * The fires this replica is not the home of. Most are decided by their home before this replica's
 * turn comes, and cost only a look at the home's announcement; the rest wait here, without a timer
 * or a promise each (at 10,000 tasks on 5 replicas that is 8,000 fires a second per replica), and
 * one sweep every RECHECK_MS judges each home once, then claims what a quiet home left undecided.
 */
export class SafetyNetWatch {
  private readonly lines = new Map<string, WatchLine>();
  /** Waiting fires per task: a later fire of a task this replica claims itself releases them first. */
  private readonly waitingPerTask = new Map<string, number>();
  private sweeping = false;
  private nudged = new AbortController();
  /** The sweep sleeps past RECHECK_MS: a new waiting fire or parked task must wake it. */
  private sleepingLong = false;
  /** How late the sweep has lately woken (ms): this replica's event loop is that loaded. */
  private loopLagMs = 0;
  private lagMeasuredAt = performance.now();
  private readonly sweeper: LineSweeper = {
    known: (watched) => this.known(watched),
    claim: (watched) => this.deps.claim(watched.task, watched.fireMs, watched.catchUp),
    left: (watched) => this.forget(watched.name),
    unpark: (task, afterMs) => this.deps.unpark(task, afterMs),
  };

  constructor(private readonly deps: SafetyNetWatchDeps) {
    whenAborted(deps.stopping, () => this.nudge());
  }

  /** A home's word may have stopped holding (its view or tasks changed): sweep now. */
  nudge(): void {
    if (!this.nudged.signal.aborted) this.nudged.abort(NUDGED);
  }

  /** A fire whose home is another replica came due (its turn to act as the safety net, or earlier). */
  add(task: ScheduledTask, fireMs: number, turnMs: number, catchUp: boolean): void {
    const { name, deadlineMs } = task.published.definition;
    const home = this.deps.home.homeOf(name);
    const rank = this.deps.home.rankOf(name);
    if (home === undefined) return this.deps.claim(task, fireMs, catchUp);
    const watched: Watched = { task, name, fireMs, turnMs, claimByMs: turnMs + deadlineMs * PATIENCE, catchUp };
    // Only a decided fire is settled here: whether the home has gone quiet is judged by the sweep,
    // once this replica has read what arrived while it was busy dispatching.
    if (!this.waitingPerTask.has(name) && this.isCovered(watched, home, rank, this.deps.now())) return;
    this.enqueue(home, rank, watched);
    this.watchSoon();
  }

  /**
   * The task's next fire is due at `fromMs`, and this replica is not its home: true when it needs no
   * timer, because the home's word covers its fires until the sweep says otherwise.
   */
  park(task: ScheduledTask, fromMs: number): boolean {
    const { name, deadlineMs } = task.published.definition;
    const home = this.deps.home.homeOf(name);
    if (home === undefined) return false;
    const rank = this.deps.home.rankOf(name);
    const line = this.lineOf(home, rank);
    if (!line.park(task, fromMs, deadlineMs * PATIENCE, this.deps.safetyNet.standingOf(home, rank, this.lagMs), this.deps.now())) {
      if (line.empty) this.lines.delete(lineKey(home, rank));
      return false;
    }
    this.watchSoon();
    return true;
  }

  /** Every parked task gets its timer back (the replicas or the tasks changed). */
  unparkAll(): void {
    const now = this.deps.now();
    for (const line of this.lines.values()) line.unparkAll(this.sweeper, now);
    for (const [key, line] of this.lines) if (line.empty) this.lines.delete(key);
  }

  /**
   * This replica is about to claim a later fire of the task itself (it became the home): the task's
   * waiting fires are settled first, and claimed unless already decided, so no claim overtakes them.
   */
  release(task: string): void {
    if (!this.waitingPerTask.has(task)) return;
    this.waitingPerTask.delete(task);
    const now = this.deps.now();
    for (const [key, line] of this.lines) {
      for (const watched of line.take(task)) {
        if (!this.isCovered(watched, line.home, line.rank, now)) this.deps.claim(watched.task, watched.fireMs, watched.catchUp);
      }
      if (line.empty) this.lines.delete(key);
    }
  }

  /** The live replicas changed: the waiting fires move to their new homes and places in line. */
  regroup(): void {
    const all = [...this.lines.values()].flatMap((line) => line.take());
    this.lines.clear();
    this.waitingPerTask.clear();
    for (const watched of all.sort((a, b) => a.fireMs - b.fireMs)) {
      const home = this.deps.home.homeOf(watched.name);
      if (home === undefined) this.deps.claim(watched.task, watched.fireMs, watched.catchUp);
      else this.enqueue(home, this.deps.home.rankOf(watched.name), watched);
    }
    if (this.lines.size > 0) this.startSweeping();
  }

  /** Something new to watch: the sweep runs, and within RECHECK_MS even if it was sleeping long. */
  private watchSoon(): void {
    this.startSweeping();
    if (this.sleepingLong) this.nudge();
  }

  private lineOf(home: string, rank: number): WatchLine {
    const key = lineKey(home, rank);
    let line = this.lines.get(key);
    if (!line) this.lines.set(key, (line = new WatchLine(home, rank)));
    return line;
  }

  private enqueue(home: string, rank: number, watched: Watched): void {
    this.lineOf(home, rank).add(watched);
    this.waitingPerTask.set(watched.name, (this.waitingPerTask.get(watched.name) ?? 0) + 1);
  }

  private known(watched: Watched): boolean {
    return (this.deps.knowledge.decidedThrough(watched.name) ?? -1) >= watched.fireMs;
  }

  private isCovered(watched: Watched, home: string, rank: number, now: number): boolean {
    return verdictOf(watched, this.deps.safetyNet.standingOf(home, rank, this.lagMs), now, this.sweeper) === 'covered';
  }

  private startSweeping(): void {
    if (this.sweeping) return;
    this.sweeping = true;
    this.sweepLoop().catch((error: unknown) => {
      // Whatever failed, the waiting fires and parked tasks must not be left without a sweep.
      this.sweeping = false;
      this.deps.onError(error instanceof Error ? error : new Error(String(error)));
      if (this.lines.size > 0) this.startSweeping();
    });
  }

  /**
   * Runs while there are lines. It says it has ended (`sweeping`) in the same step as it sees none
   * left: a fire added in between (an unparked task's timer fires before a `finally` would run) must
   * start a new loop, or it would wait unswept.
   */
  private async sweepLoop(): Promise<void> {
    let waitMs = RECHECK_MS;
    for (;;) {
      if (this.lines.size === 0) {
        this.sweeping = false;
        return;
      }
      if (this.nudged.signal.aborted) this.nudged = new AbortController();
      this.sleepingLong = waitMs > RECHECK_MS;
      const sleptAt = performance.now();
      await this.deps.sleep(waitMs, this.nudged.signal);
      this.sleepingLong = false;
      // Timers run before I/O is read: after a busy spell, the homes' announcements may be waiting
      // unread, and judging now would take every home for quiet.
      await new Promise((resolve) => setImmediate(resolve));
      this.noteLag(performance.now() - sleptAt - waitMs);
      if (this.deps.stopping.aborted) {
        this.lines.clear(); // a stopping replica claims nothing more
        this.waitingPerTask.clear();
        this.sweeping = false;
        return;
      }
      const now = this.deps.now();
      let nextMs = now + MAX_PARKED_SLEEP_MS;
      // Per line, the home's standing is read once.
      for (const [key, line] of this.lines) {
        const standing = this.deps.safetyNet.standingOf(line.home, line.rank, this.lagMs);
        line.sweep(standing, now, this.sweeper);
        if (line.empty) this.lines.delete(key);
        else nextMs = Math.min(nextMs, line.size > 0 ? now : (line.parkedCheckMs(standing, now) ?? now));
      }
      waitMs = Math.max(RECHECK_MS, nextMs - now);
    }
  }

  /** A decaying maximum of the sweep's lateness: halves every LAG_HALF_LIFE_MS. */
  private noteLag(lateMs: number): void {
    this.loopLagMs = Math.max(lateMs, this.lagMs);
    this.lagMeasuredAt = performance.now();
  }

  /** The lag as of now (decayed since it was last measured). */
  private get lagMs(): number {
    const decayed = this.loopLagMs * 0.5 ** ((performance.now() - this.lagMeasuredAt) / LAG_HALF_LIFE_MS);
    return decayed < 1 ? 0 : decayed;
  }

  private forget(name: string): void {
    const left = (this.waitingPerTask.get(name) ?? 1) - 1;
    if (left > 0) this.waitingPerTask.set(name, left);
    else this.waitingPerTask.delete(name);
  }
}

const lineKey = (home: string, rank: number): string => `${rank}:${home}`;
