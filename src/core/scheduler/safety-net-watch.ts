import type { Sleep } from '../time.js';
import type { ScheduledTask } from './fire-runner.js';
import type { HomeReplicas } from './home-replica.js';
import { verdictFor, type HomeStanding, type SafetyNetVerdict } from './home-progress.js';
import type { ReplicaKnowledge } from './knowledge.js';
import type { SafetyNet } from './safety-net.js';

/** While a home's announcement is due, the waiting fires are looked at again this often. */
const RECHECK_MS = 20;
/**
 * A home that is heard from is waited for up to this share of the fire's deadline: it is alive and
 * reaches Redis, so it will decide the fire. Claiming sooner would only add load to a cluster
 * that is slow because it is loaded (and a slow home's announcement lags behind all its fires).
 */
const PATIENCE = 0.5;

interface Watched {
  task: ScheduledTask;
  fireMs: number;
  /** When the fire is due with its jitter: the home claims it then, and nobody claims it before. */
  turnMs: number;
  /** Until when to wait for the home's word while the home is heard from. */
  claimByMs: number;
  catchUp: boolean;
}

/** The waiting fires of one home that this replica is the same place in line for, in arrival order. */
interface Line {
  home: string;
  rank: number;
  fires: Watched[];
}

export interface SafetyNetWatchDeps {
  safetyNet: SafetyNet;
  home: HomeReplicas;
  knowledge: ReplicaKnowledge;
  now(): number;
  sleep: Sleep;
  stopping: AbortSignal;
  /** The home did not decide the fire in time: claim it (in order with the task's other claims). */
  claim(task: ScheduledTask, fireMs: number, catchUp: boolean): void;
}

/**
 * The fires this replica is not the home of. Most are decided by their home before this replica's
 * turn comes, and cost only a look at the home's announcement; the rest wait here, without a timer
 * or a promise each (at 10,000 tasks on 5 replicas that is 8,000 fires a second per replica), and
 * one sweep every RECHECK_MS judges each home once, then claims what a quiet home left undecided.
 */
export class SafetyNetWatch {
  private readonly lines = new Map<string, Line>();
  /** Waiting fires per task: a later fire of a task this replica claims itself releases them first. */
  private readonly waitingPerTask = new Map<string, number>();
  private sweeping = false;

  constructor(private readonly deps: SafetyNetWatchDeps) {}

  /** A fire whose home is another replica came due (its turn to act as the safety net, or earlier). */
  add(task: ScheduledTask, fireMs: number, turnMs: number, catchUp: boolean): void {
    const { name, deadlineMs } = task.published.definition;
    const home = this.deps.home.homeOf(name);
    const rank = this.deps.home.rankOf(name);
    if (home === undefined) return this.deps.claim(task, fireMs, catchUp);
    const watched: Watched = { task, fireMs, turnMs, claimByMs: turnMs + deadlineMs * PATIENCE, catchUp };
    // Only a decided fire is settled here: whether the home has gone quiet is judged by the sweep,
    // once this replica has read what arrived while it was busy dispatching.
    if (!this.waitingPerTask.has(name) && this.verdict(watched, this.deps.safetyNet.standingOf(home, rank), this.deps.now()) === 'covered') return;
    this.enqueue(home, rank, watched);
    this.startSweeping();
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
      const standing = this.deps.safetyNet.standingOf(line.home, line.rank);
      const kept = line.fires.filter((watched) => {
        if (watched.task.published.definition.name !== task) return true;
        if (this.verdict(watched, standing, now) !== 'covered') this.deps.claim(watched.task, watched.fireMs, watched.catchUp);
        return false;
      });
      if (kept.length === 0) this.lines.delete(key);
      else line.fires = kept;
    }
  }

  /** The live replicas changed: the waiting fires move to their new homes and places in line. */
  regroup(): void {
    const all = [...this.lines.values()].flatMap((line) => line.fires);
    this.lines.clear();
    this.waitingPerTask.clear();
    for (const watched of all.sort((a, b) => a.fireMs - b.fireMs)) {
      const name = watched.task.published.definition.name;
      const home = this.deps.home.homeOf(name);
      if (home === undefined) this.deps.claim(watched.task, watched.fireMs, watched.catchUp);
      else this.enqueue(home, this.deps.home.rankOf(name), watched);
    }
  }

  private enqueue(home: string, rank: number, watched: Watched): void {
    const key = `${rank}:${home}`;
    const line = this.lines.get(key);
    if (line) line.fires.push(watched);
    else this.lines.set(key, { home, rank, fires: [watched] });
    const name = watched.task.published.definition.name;
    this.waitingPerTask.set(name, (this.waitingPerTask.get(name) ?? 0) + 1);
  }

  private verdict(watched: Watched, standing: HomeStanding | undefined, now: number): SafetyNetVerdict {
    if ((this.deps.knowledge.decidedThrough(watched.task.published.definition.name) ?? -1) >= watched.fireMs) return 'covered';
    return verdictFor(standing, watched.fireMs, watched.turnMs, now);
  }

  private startSweeping(): void {
    if (this.sweeping) return;
    this.sweeping = true;
    void this.sweepLoop().finally(() => (this.sweeping = false));
  }

  private async sweepLoop(): Promise<void> {
    while (this.lines.size > 0) {
      await this.deps.sleep(RECHECK_MS, this.deps.stopping);
      // Timers run before I/O is read: after a busy spell, the homes' announcements may be waiting
      // unread, and judging now would take every home for quiet.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.deps.stopping.aborted) {
        this.lines.clear(); // a stopping replica claims nothing more
        this.waitingPerTask.clear();
        return;
      }
      this.sweep(this.deps.now());
    }
  }

  /**
   * Per line, the home's standing is read once; decided fires leave, undecided ones are claimed once
   * due and the home is quiet or too slow. Fires of tasks with different deadlines share a line, so
   * one that waits does not hold back the others, except later fires of its own task.
   */
  private sweep(now: number): void {
    for (const [key, line] of this.lines) {
      const standing = this.deps.safetyNet.standingOf(line.home, line.rank);
      let held: Set<string> | undefined;
      const kept = line.fires.filter((watched) => {
        const verdict = this.verdict(watched, standing, now);
        if (verdict !== 'covered') {
          const name = watched.task.published.definition.name;
          if (held?.has(name) || now < watched.turnMs || (verdict === 'wait' && now < watched.claimByMs)) {
            (held ??= new Set()).add(name);
            return true;
          }
          this.deps.claim(watched.task, watched.fireMs, watched.catchUp);
        }
        this.forget(watched);
        return false;
      });
      if (kept.length === 0) this.lines.delete(key);
      else line.fires = kept;
    }
  }

  private forget(watched: Watched): void {
    const name = watched.task.published.definition.name;
    const left = (this.waitingPerTask.get(name) ?? 1) - 1;
    if (left > 0) this.waitingPerTask.set(name, left);
    else this.waitingPerTask.delete(name);
  }
}
