import { setMaxListeners } from 'node:events';
import { randomBytes } from 'node:crypto';
import { digestOf, type DefinitionSet, type PublishedTask } from '../definitions.js';
import { InvalidOptionError, SchedulerStateError, TaskNotRunHereError, UnknownTaskError } from '../errors.js';
import type { PauseState, RunRecord, TaskStore } from '../store/task-store.js';
import type { Task } from '../task.js';
import { withTimeout, type Sleep } from '../time.js';
import type { Trigger, TriggerTemplate } from '../triggers/trigger.js';
import { FireQueue } from './fire-queue.js';
import { FireRunner } from './fire-runner.js';
import type { ScheduledTask } from './scheduled-task.js';
import type { UnrunnableTask } from './schedule-table.js';
import { HomeReplicas } from './home-replica.js';
import { SafetyNet } from './safety-net.js';
import { FireDispatcher } from './fire-dispatcher.js';
import { HeartbeatLoop } from './heartbeat-loop.js';
import { DefinitionSync } from './definition-sync.js';
import { ReplicaKnowledge } from './knowledge.js';
import { ListenerHub } from './listener-hub.js';
import { retryUntilStopped, type StoreRetryDeps } from './store-retry.js';
import { TimerLoop } from './timer-loop.js';
import { currentRun } from './run-attempts.js';
import type { Logger, ReloadResult, SchedulerListener, TaskInfo, TriggerOptions, TriggerOutcome } from './types.js';

export type { ReloadResult, TaskInfo, TriggerOptions, TriggerOutcome } from './types.js';
import { resolveSchedulerOptions, type SchedulerOptions } from './scheduler-options.js';

export type { SchedulerOptions } from './scheduler-options.js';

/** At start, how long at most to wait for the other replicas to see this one, in ms (and how often to look). */
const MAX_JOIN_WAIT_MS = 1_000;
const JOIN_CHECK_MS = 10;

type Phase = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * Fires registered tasks on schedule, once across all replicas that share the store (or on every
 * replica for pod-scope tasks), surviving store outages, restarts and skewed clocks.
 */
export class DistributedScheduler {
  readonly replicaId: string;
  /** Unique per scheduler object: a restarted process is a new instance even under the same replicaId. */
  readonly instance: string;
  private readonly home: HomeReplicas;
  private readonly safetyNet: SafetyNet;
  private readonly logger: Logger;
  private readonly sleep: Sleep;
  private readonly leaseTtlMs: number;
  private readonly shutdownGraceMs: number;
  private readonly storeTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly hub: ListenerHub;
  private readonly knowledge: ReplicaKnowledge;
  private readonly runner: FireRunner;
  private readonly dispatcher: FireDispatcher;
  private readonly beats: HeartbeatLoop;
  private readonly definitionSync: DefinitionSync;
  private readonly scheduled = new Map<string, ScheduledTask>();
  private readonly unrunnable = new Map<string, UnrunnableTask>();
  private readonly queue = new FireQueue();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();
  private readonly shutdown = new AbortController();
  private readonly timer: TimerLoop;
  private phase: Phase = 'new';
  private loops: Promise<void>[] = [];
  private unsubscribe: (() => void) | undefined;
  private stopPromise: Promise<void> | undefined;
  private stopped!: () => void;
  private readonly stoppedPromise = new Promise<void>((resolve) => (this.stopped = resolve));

  constructor(
    private readonly store: TaskStore,
    options: SchedulerOptions = {},
  ) {
    const resolved = resolveSchedulerOptions(options);
    this.logger = resolved.logger;
    this.sleep = resolved.sleep;
    this.replicaId = resolved.replicaId;
    this.instance = `${resolved.replicaId}#${randomBytes(4).toString('hex')}`;
    this.home = new HomeReplicas(this.instance);
    this.safetyNet = new SafetyNet(store, this.home, this.instance, this.sleep);
    this.leaseTtlMs = resolved.leaseTtlMs;
    this.shutdownGraceMs = resolved.shutdownGraceMs;
    this.storeTimeoutMs = resolved.storeTimeoutMs;
    this.pollIntervalMs = resolved.pollIntervalMs;
    // Every sleeping claim and run listens on these; dozens at once are expected, not a leak.
    setMaxListeners(0, this.stopping.signal, this.shutdown.signal);
    this.hub = new ListenerHub(this.logger);
    this.knowledge = new ReplicaKnowledge(this.leaseTtlMs, this.instance);
    this.runner = new FireRunner({
      store,
      sleep: this.sleep,
      logger: this.logger,
      hub: this.hub,
      knowledge: this.knowledge,
      replica: this.replicaId,
      instance: this.instance,
      leaseTtlMs: this.leaseTtlMs,
      storeTimeoutMs: this.storeTimeoutMs,
      tasksMayStop: resolved.tasksMayStop,
      stopping: this.stopping.signal,
      shutdown: this.shutdown.signal,
      onStale: () => this.beats.pollSoon(),
    });
    this.dispatcher = new FireDispatcher({
      store,
      runner: this.runner,
      home: this.home,
      safetyNet: this.safetyNet,
      knowledge: this.knowledge,
      hub: this.hub,
      logger: this.logger,
      scheduled: this.scheduled,
      queue: this.queue,
      sleep: this.sleep,
      stopping: this.stopping.signal,
      track: (work) => this.track(work),
      wakeTimer: () => this.wakeTimer(),
    });
    this.timer = new TimerLoop({
      now: () => store.now(),
      sleep: this.sleep,
      dispatchDue: (now, max) => this.dispatcher.dispatchDue(now, max),
      nextDueMs: () => this.queue.peekTime(),
      maxSleepMs: resolved.maxSleepMs,
      stopping: this.stopping.signal,
    });
    this.beats = new HeartbeatLoop({
      store,
      sleep: this.sleep,
      hub: this.hub,
      logger: this.logger,
      knowledge: this.knowledge,
      instance: this.instance,
      pollIntervalMs: this.pollIntervalMs,
      storeTimeoutMs: this.storeTimeoutMs,
      stopping: this.stopping.signal,
      settling: () => this.runner.settling(),
      onMembers: (instances) => this.membersAre(instances),
      onGeneration: (generation) => this.definitionSync.follow(generation),
    });
    this.definitionSync = new DefinitionSync({
      store,
      logger: this.logger,
      hub: this.hub,
      knowledge: this.knowledge,
      scheduled: this.scheduled,
      unrunnable: this.unrunnable,
      queue: this.queue,
      storeTimeoutMs: this.storeTimeoutMs,
      handlerFor: resolved.handlerFor,
      heartbeat: () => this.beats.heartbeat(),
      onApplied: () => this.scheduleChanged(),
    });
  }

  register(trigger: TriggerTemplate, task: Task): this {
    if (this.phase !== 'new') throw new SchedulerStateError('register() must be called before start()');
    this.definitionSync.register(trigger, task);
    return this;
  }

  /** The version of the registered definitions; a replica with a higher version replaces them cluster-wide. */
  setVersion(version: number): this {
    if (!Number.isInteger(version) || version < 0) throw new InvalidOptionError(`version must be a whole number >= 0, got ${version}`);
    if (this.phase !== 'new') throw new SchedulerStateError('setVersion() must be called before start()');
    this.definitionSync.setVersion(version);
    return this;
  }

  /**
   * Offers a new set of tasks under `version` while running: it replaces the published set if the
   * version is higher than the stored one, and every replica switches to it.
   */
  async reload(tasks: Array<{ trigger: TriggerTemplate; task: Task }>, version: number): Promise<ReloadResult> {
    if (this.phase !== 'running') throw new SchedulerStateError(`reload() needs a running scheduler; this one is ${this.phase}`);
    if (!Number.isInteger(version) || version < 0) throw new InvalidOptionError(`version must be a whole number >= 0, got ${version}`);
    const outcome = await this.definitionSync.replace(tasks, version);
    return { accepted: outcome.accepted, conflict: outcome.conflict, set: outcome.set };
  }

  addListener(listener: SchedulerListener): this {
    this.hub.add(listener);
    return this;
  }

  /** Publishes the definitions (or adopts newer ones), then starts firing. Resolves once scheduling runs. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new SchedulerStateError(`start() called on a scheduler that is ${this.phase}`);
    this.phase = 'starting';
    this.store.setRecoverySource(() => this.knowledge.snapshot(this.store.now()));
    await this.store.open();
    this.unsubscribe = this.store.onEvent((event) => {
      if (event.type === 'state-lost') {
        this.logger.warn('the store lost its state (Redis restarted empty?): no fire is claimed during the recovery window while replicas hand back what they know', {
          store: this.store.description,
          recoveryWindowMs: event.recoveryWindowMs,
        });
      } else if (event.type !== 'progress') this.beats.pollSoon();
      else if (this.safetyNet.heard(event.progress, this.store.now())) this.dispatcher.homeWordChanged();
    });
    await retryUntilStopped(this.retryDeps(), 'publish', () => this.definitionSync.publish());
    if (this.stopping.signal.aborted) return;
    // The first fires wait for the first beat: knowing the live replicas, this one claims only the
    // fires it is the home of. Before that it would claim every fire, and a whole cluster starting
    // together would claim each fire once per replica.
    this.beats.start();
    await this.beats.firstBeat;
    // Joining a running cluster, the first fires also wait (briefly) for the others to see this
    // replica: until then they claim its tasks as theirs, and it would claim theirs as a stranger.
    const joinBy = this.store.now() + Math.min(MAX_JOIN_WAIT_MS, this.pollIntervalMs);
    while (!this.safetyNet.agreed && this.store.now() < joinBy && !this.stopping.signal.aborted) await this.sleep(JOIN_CHECK_MS, this.stopping.signal);
    if (this.stopping.signal.aborted) return;
    this.phase = 'running';
    this.loops = [this.timer.run()];
    this.hub.emit('onStartup');
    this.logger.info('scheduler started', { replica: this.replicaId, store: this.store.description, tasks: this.scheduled.size });
  }

  /** Stops claiming, lets running tasks finish within the grace period, then resolves. Safe to call from a task. */
  stop(): Promise<void> {
    if (!this.stopPromise) this.stopPromise = this.doStop();
    return this.stopPromise;
  }

  /** Resolves after stop() has completed. */
  waitForever(): Promise<void> {
    return this.stoppedPromise;
  }

  /** Runs a task now: on this replica, once across the cluster (or just here for pod scope). */
  async triggerTask(name: string, options: TriggerOptions = {}): Promise<TriggerOutcome> {
    const force = options.force ?? false;
    for (;;) {
      // Looked up on every pass: a reload may change or remove the task while the store recovers.
      const task = this.scheduled.get(name);
      const unrunnable = this.unrunnable.get(name);
      if (unrunnable && this.phase === 'running') throw new TaskNotRunHereError(name, unrunnable.reason);
      if (!task || this.phase !== 'running') throw new UnknownTaskError(name);
      if (task.published.definition.scope === 'pod') {
        const result = await this.runner.runLocally(task, this.store.now(), 'manual', force);
        return result ? { ran: true, result } : { ran: false, reason: 'overlap' };
      }
      const outcome = await this.runner.triggerManually(task, force);
      if (!('retryInMs' in outcome)) return outcome;
      await this.sleep(outcome.retryInMs + 1, this.stopping.signal);
    }
  }

  async pause(name: string): Promise<PauseState> {
    return this.setPaused(name, true);
  }

  async resume(name: string): Promise<PauseState> {
    return this.setPaused(name, false);
  }

  async history(name: string, limit = 20): Promise<RunRecord[]> {
    if (!this.unrunnable.has(name)) this.requireTask(name); // the history is cluster-wide
    return this.store.history(name, limit);
  }

  /** The tasks this replica schedules, with their next fire, then those published that it cannot run (with why). */
  tasks(): TaskInfo[] {
    const now = this.store.now();
    const infoOf = ({ published, trigger }: { published: PublishedTask; trigger: Trigger }): TaskInfo => {
      const { name, scope, paused } = published.definition;
      return {
        name,
        schedule: trigger.describe(),
        scope,
        nextFireAt: toDate(trigger.next(now)),
        paused: (paused ?? false) || (this.knowledge.pauses.get(name)?.paused ?? false),
        running: this.runner.runningCount(name),
      };
    };
    return [
      ...[...this.scheduled.values()].map(infoOf),
      ...[...this.unrunnable.values()].map((task) => ({ ...infoOf(task), notRunHere: task.reason })),
    ];
  }

  /** The next `count` fire times of a task, computed from its published definition. */
  nextFires(name: string, count: number): Date[] {
    const task = this.requireTask(name);
    const fires: Date[] = [];
    for (let at = task.trigger.next(this.store.now()); at !== undefined && fires.length < count; at = task.trigger.next(at)) {
      fires.push(new Date(at));
    }
    return fires;
  }

  definitions(): DefinitionSet | undefined {
    return this.knowledge.set;
  }

  clockOffsetMs(): number {
    return this.store.clockOffsetMs();
  }

  private requireTask(name: string): ScheduledTask {
    const task = this.scheduled.get(name);
    if (!task) throw new UnknownTaskError(name);
    return task;
  }

  private async setPaused(name: string, paused: boolean): Promise<PauseState> {
    this.requireTask(name);
    const state = await withTimeout('setPaused', this.storeTimeoutMs, () => this.store.setPaused(name, paused));
    this.knowledge.pauses.set(name, state);
    return state;
  }

  private scheduleChanged(): void {
    this.safetyNet.tasksChanged(digestOf([...this.scheduled.values()].map((t) => t.published.digest).sort()));
    this.dispatcher.tasksChanged();
    this.safetyNet.queued(this.queue.peekTime());
    this.wakeTimer();
  }

  private membersAre(instances: string[]): void {
    if (!this.home.update(instances)) return;
    this.dispatcher.membersChanged();
    this.wakeTimer();
  }

  private retryDeps(): StoreRetryDeps {
    return { sleep: this.sleep, hub: this.hub, logger: this.logger, storeTimeoutMs: this.storeTimeoutMs, stopping: this.stopping.signal };
  }

  private wakeTimer(): void {
    this.timer.wakeUp();
  }

  private track(work: Promise<unknown>): void {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  private async doStop(): Promise<void> {
    const wasRunning = this.phase === 'running';
    this.phase = 'stopping';
    this.stopping.abort();
    this.wakeTimer();
    this.beats.pollSoon();
    const self = currentRun.getStore();
    await Promise.all(this.loops);
    // In-flight work includes runs. From inside a task, the caller's own fire is part of it and
    // waiting for it would deadlock, so only the other runs are awaited then.
    const pending = self === undefined
      ? [...this.inflight, ...[...this.runner.running].map((r) => r.done)]
      : [...this.runner.running].filter((run) => run.identity !== self).map((r) => r.done);
    if (pending.length > 0) {
      const grace = new AbortController();
      const finished = await Promise.race([
        Promise.allSettled(pending).then(() => true),
        this.sleep(this.shutdownGraceMs, grace.signal).then(() => false),
      ]);
      grace.abort();
      if (!finished) {
        this.shutdown.abort(); // runs still going are told to stop; they settle, are recorded and release their leases
        await Promise.allSettled(pending);
      }
    }
    // Called from inside a task: stop() resolves now so the task can return; the scheduler counts as
    // stopped (waitForever, onStop) once that task's run has been recorded too.
    const selfRun = [...this.runner.running].find((run) => run.identity === self);
    if (selfRun) void selfRun.done.then(() => this.finishStop(wasRunning));
    else await this.finishStop(wasRunning);
  }

  private async finishStop(wasRunning: boolean): Promise<void> {
    this.unsubscribe?.();
    this.safetyNet.close();
    await this.beats.end();
    // Leaving lets the other replicas claim this one's tasks at once instead of after its beats lapse.
    if (this.beats.started) await withTimeout('leave', this.storeTimeoutMs, () => this.store.leave(this.instance)).catch(() => {});
    try {
      await this.store.close();
    } catch (error) {
      this.logger.warn('store did not close cleanly', { error: (error as Error).message });
    }
    this.phase = 'stopped';
    if (wasRunning) this.hub.emit('onStop');
    this.stopped();
  }
}

function toDate(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(ms);
}
