import type { TaskStore } from '../store/task-store.js';
import { dueFires } from './fire-math.js';
import type { FireQueue } from './fire-queue.js';
import type { ClaimHow, FireRunner } from './fire-runner.js';
import { GIVE_UP_MARGIN_MS, giveUpAtOf, turnOf, type ScheduledTask } from './scheduled-task.js';
import { TAKEOVER_STEP_MS, type HomeReplicas } from './home-replica.js';
import type { ReplicaKnowledge } from './knowledge.js';
import type { ListenerHub } from './listener-hub.js';
import type { SafetyNet } from './safety-net.js';
import { SafetyNetWatch } from './safety-net-watch.js';
import type { Sleep } from '../time.js';
import type { Logger } from './types.js';

/** After a long delay, at most this many of a task's due fires are claimed; older ones count as missed. */
const MAX_CATCH_UP_FIRES = 100;

export interface FireDispatcherDeps {
  store: TaskStore;
  runner: FireRunner;
  home: HomeReplicas;
  safetyNet: SafetyNet;
  knowledge: ReplicaKnowledge;
  hub: ListenerHub;
  logger: Logger;
  scheduled: ReadonlyMap<string, ScheduledTask>;
  queue: FireQueue;
  sleep: Sleep;
  /** Aborted when the replica stops claiming. */
  stopping: AbortSignal;
  /** Keeps the work of a fire until it settles (stop waits for it). */
  track(work: Promise<unknown>): void;
  /** The queue got an entry the timer may be sleeping past. */
  wakeTimer(): void;
}

/**
 * Turns due timer entries into claims and runs: when each replica acts on a fire (the home at
 * once, the others later as the safety net), and which fires are claimed after a delay.
 */
export class FireDispatcher {
  private readonly watch: SafetyNetWatch;
  /** The latest due time of any fire dispatched so far, catch-up fires included (0: none). */
  private dispatchedFiresThroughMs = 0;

  constructor(private readonly deps: FireDispatcherDeps) {
    this.watch = new SafetyNetWatch({
      safetyNet: deps.safetyNet,
      home: deps.home,
      knowledge: deps.knowledge,
      now: () => deps.store.now(),
      sleep: deps.sleep,
      stopping: deps.stopping,
      claim: (task, fireMs, catchUp) => this.claim(task, fireMs, { catchUp }),
      unpark: (task, afterMs) => this.unpark(task, afterMs),
      onError: (error) => deps.logger.error('safety-net sweep failed; sweeping again', { error: error.message }),
    });
  }

  /**
   * Dispatches the fires whose turn has come by `now` (store time), at most `max` of them; true when
   * more may be due. Thousands of tasks due at once are dispatched a slice at a time, so that the
   * first claims leave, and replies and announcements are read, while the rest are dispatched.
   */
  dispatchDue(now: number, max: number): boolean {
    const due = this.deps.queue.popDue(now, max);
    for (const fire of due) this.dispatch(fire.task, fire.atMs, fire.wakeMs, now);
    // A home fire is woken when it is due: every one due before the next wake has been dispatched,
    // also in the middle of a burst that takes many slices (with nothing queued, none is due until
    // something is, which says so: queued()). Between two bursts, saying so lets the others' parked
    // tasks stay parked.
    const nextWakeMs = this.deps.queue.peekTime();
    this.deps.safetyNet.dispatched(nextWakeMs === undefined ? Number.MAX_SAFE_INTEGER : nextWakeMs - 1);
    return due.length === max;
  }

  /** A home's view or tasks changed: parked tasks may need their timers back now. */
  homeWordChanged(): void {
    this.watch.nudge();
  }

  /** The scheduled tasks changed: every parked task gets its timer back (the homes' word no longer holds). */
  tasksChanged(): void {
    this.watch.unparkAll();
  }

  /** The live replicas changed: the fires already queued move to their new turn. */
  membersChanged(): void {
    const { queue, scheduled, safetyNet, store } = this.deps;
    this.watch.unparkAll(); // before the homes' new places in line are read from the queue
    queue.restagger((name, atMs) => {
      const task = scheduled.get(name);
      return task ? atMs + this.staggerOf(task, atMs) : atMs;
    });
    safetyNet.viewChanged(this.dispatchedFiresThroughMs);
    safetyNet.queued(queue.peekTime());
    this.watch.regroup();
  }

  private dispatch(name: string, dueMs: number, wakeMs: number, now: number): void {
    const task = this.deps.scheduled.get(name);
    if (!task) return;
    const definition = task.published.definition;
    // Woken late on purpose (stagger) is not waking late. After a real delay, a cluster task claims
    // every due fire still inside its deadline, in order: other replicas may still be asking for the
    // older ones, and deciding the latest first would lose them. The store drops those nobody was up
    // for. Whether a fire is past its deadline is for the store's clock to say: this replica's may
    // have jumped since it last measured it, so only fires every replica has given up are left out.
    const cluster = definition.scope !== 'pod';
    const oldestMs = cluster ? now - definition.deadlineMs - GIVE_UP_MARGIN_MS : Number.POSITIVE_INFINITY;
    const { fires, nextMs } = dueFires(task.trigger, dueMs, now - (wakeMs - dueMs), oldestMs, MAX_CATCH_UP_FIRES);
    this.dispatchedFiresThroughMs = Math.max(this.dispatchedFiresThroughMs, dueMs, fires[fires.length - 1] ?? dueMs);
    if (!cluster) {
      if (nextMs !== undefined) this.deps.queue.set(name, nextMs);
      for (const fireMs of fires) this.track(name, this.runPodFire(task, fireMs));
      return;
    }
    const latest = fires.length - 1;
    if (this.deps.home.rankOf(name) !== 0) {
      fires.forEach((fireMs, i) => this.watch.add(task, fireMs, turnOf(task, fireMs), i < latest));
      if (nextMs !== undefined && !this.watch.park(task, nextMs)) this.deps.queue.set(name, nextMs, nextMs + this.staggerOf(task, nextMs));
      return;
    }
    if (nextMs !== undefined) this.deps.queue.set(name, nextMs);
    // The home claims and announces. Fires left out (given up by every replica, or beyond the
    // catch-up limit) are decided only with the first claim, which counts them missed; until then
    // the home must not announce them decided.
    this.watch.release(name);
    const droppedFromMs = fires[0] !== dueMs ? dueMs : undefined;
    fires.forEach((fireMs, i) => {
      const settled = this.deps.safetyNet.homeFire(i === 0 ? (droppedFromMs ?? fireMs) : fireMs, giveUpAtOf(task, fireMs));
      this.claim(task, fireMs, settled ? { catchUp: i < latest, settled } : { catchUp: i < latest });
    });
  }

  /** A parked task's timer, back from its first fire after `afterMs` (a fire already due is dispatched at once). */
  private unpark(task: ScheduledTask, afterMs: number): void {
    const name = task.published.definition.name;
    if (this.deps.scheduled.get(name) !== task || this.deps.queue.has(name)) return; // replaced or removed meanwhile
    const nextMs = task.trigger.next(afterMs);
    if (nextMs === undefined) return;
    this.deps.queue.set(name, nextMs, nextMs + this.staggerOf(task, nextMs));
    this.deps.wakeTimer();
  }

  private claim(task: ScheduledTask, fireMs: number, how: ClaimHow): void {
    this.track(task.published.definition.name, this.deps.runner.claimAndRun(task, fireMs, how));
  }

  private track(name: string, work: Promise<void>): void {
    this.deps.track(work.catch((error) => this.deps.logger.error('fire failed unexpectedly', { task: name, error: (error as Error).message })));
  }

  /**
   * Not the home of a cluster task: dispatch its fire later, when the claim is only the safety net,
   * so the moment a fire is due belongs to the replica that runs it. Never more than a quarter of the
   * period or of the deadline, so the safety net still catches every fire in time.
   */
  private staggerOf(task: ScheduledTask, fireMs: number): number {
    const definition = task.published.definition;
    const rank = definition.scope === 'pod' ? 0 : this.deps.home.rankOf(definition.name);
    if (rank === 0) return 0;
    return Math.min(rank * TAKEOVER_STEP_MS, this.maxStaggerOf(task, fireMs));
  }

  private maxStaggerOf(task: ScheduledTask, fireMs: number): number {
    const { deadlineMs } = task.published.definition;
    const period = (task.trigger.next(fireMs) ?? fireMs + deadlineMs) - fireMs;
    return Math.min(period / 4, deadlineMs / 4);
  }

  private async runPodFire(task: ScheduledTask, fireMs: number): Promise<void> {
    const name = task.published.definition.name;
    if (task.published.definition.paused || this.deps.knowledge.pauses.get(name)?.paused) {
      this.deps.hub.emit('onSkip', { task: name, scheduledAt: new Date(fireMs), reason: 'paused', count: 1 });
      return;
    }
    if (this.deps.store.now() > fireMs + task.published.definition.deadlineMs) {
      this.deps.hub.emit('onSkip', { task: name, scheduledAt: new Date(fireMs), reason: 'missed', count: 1 });
      return;
    }
    await this.deps.runner.runLocally(task, fireMs, 'schedule', false);
  }
}
