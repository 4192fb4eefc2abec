import { randomBytes } from 'node:crypto';
import { SchedulerStateError, StoreStateError } from '../errors.js';
import type { ClaimRequest, ClaimResult, RunRecord, TaskStore } from '../store/task-store.js';
import type { FireTrigger } from '../task.js';
import { waitAtMost, withTimeout, type Sleep } from '../time.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { ReplicaKnowledge } from './knowledge.js';
import type { ListenerHub } from './listener-hub.js';
import { runAttempts } from './run-attempts.js';
import { pausedSpanOf, RunRecorder } from './run-recorder.js';
import { giveUpAtOf, turnOf, type ScheduledTask } from './scheduled-task.js';
import { retryUntilStopped } from './store-retry.js';
import type { CompletionContext, Logger, TriggerOutcome } from './types.js';

export interface FireRunnerDeps {
  store: TaskStore;
  sleep: Sleep;
  logger: Logger;
  hub: ListenerHub;
  knowledge: ReplicaKnowledge;
  replica: string;
  /** This scheduler instance, unique per process: what the store knows as alive, and who holds leases. */
  instance: string;
  leaseTtlMs: number;
  storeTimeoutMs: number;
  /** Runs are marked in their async context, so that stop() from inside a task can tell (costly). */
  tasksMayStop: boolean;
  /** Aborted when the replica stops claiming. */
  stopping: AbortSignal;
  /** Aborted when running calls must give up (end of the shutdown grace). */
  shutdown: AbortSignal;
  /** The fire belongs to a definition this replica no longer holds: refresh it. */
  onStale(): void;
}

export interface ClaimHow {
  /** An older due fire claimed on the way to a later one (see ClaimRequest.catchUp). */
  catchUp?: boolean;
  /** Told once the claim phase is over: whether the fire is decided in the store. */
  settled?: (decided: boolean) => void;
}

interface RunHandle {
  task: string;
  identity: object;
  /** Settles once the run is over and recorded in the store. */
  done: Promise<unknown>;
}

/** Claims fires, runs them, records them. One instance per scheduler. */
export class FireRunner {
  readonly running = new Set<RunHandle>();
  private readonly runningByTask = new Map<string, number>();
  /** The claim phase of each task's latest fire: the next fire's claim waits for it. */
  private readonly claimChains = new Map<string, Promise<void>>();
  /** Per task, the run whose handler has returned and whose record (releasing its lease) is on its way. */
  private readonly recording = new Map<string, Promise<unknown>>();

  /** Per task whose keys the store cannot read, the error last logged (logged again only if it changes). */
  private readonly unreadable = new Map<string, string>();

  private readonly leases: LeaseKeeper;
  private readonly recorder: RunRecorder;

  private readonly lastAnswerAtMs: (() => number) | undefined;

  /**
   * Claim tokens: a random prefix per runner and a counter. Unique like a UUID for what they tell
   * apart (the claims of one task), and cheaper to make and to send at thousands of fires a second.
   */
  private readonly tokenPrefix = randomBytes(6).toString('base64url');
  private tokenCount = 0;

  constructor(private readonly deps: FireRunnerDeps) {
    this.lastAnswerAtMs = deps.store.lastAnswerAtMs?.bind(deps.store);
    this.leases = new LeaseKeeper({
      store: deps.store,
      sleep: deps.sleep,
      leaseTtlMs: deps.leaseTtlMs,
      instance: deps.instance,
      withTimeout: (operation, call) => this.withTimeout(operation, call),
      onTaken: (task) => deps.logger.warn('lease of a running task was taken by another run', { task }),
      onError: (error) => deps.hub.emit('onStoreError', 'renew', error),
    });
    this.recorder = new RunRecorder({
      store: deps.store,
      sleep: deps.sleep,
      logger: deps.logger,
      hub: deps.hub,
      replica: deps.replica,
      withTimeout: (operation, call) => this.withTimeout(operation, call),
    });
  }

  /** Some finished runs are not yet recorded in the store (see Heartbeat.settling). */
  settling(): boolean {
    return this.recorder.settling();
  }

  runningCount(task: string): number {
    return this.runningByTask.get(task) ?? 0;
  }

  /**
   * Cluster scope: claim the fire in the store and run it if this replica wins. A replica claims
   * one task's fires in order: the store keeps a watermark per task, so a later fire's claim
   * overtaking an earlier one (replies queued behind an outage) would make the earlier one lost.
   */
  async claimAndRun(task: ScheduledTask, fireMs: number, how: ClaimHow = {}): Promise<void> {
    const name = task.published.definition.name;
    const previous = this.claimChains.get(name);
    let claimed!: () => void;
    const chain = new Promise<void>((resolve) => (claimed = resolve));
    this.claimChains.set(name, chain);
    let run: (() => Promise<void>) | undefined;
    const outcome = { decided: false };
    try {
      if (previous) await previous;
      // A run of this task that has just ended still holds its lease until its record lands, and
      // Redis would answer 'busy': a claim that waits for the record is decided at the first ask.
      const recording = this.recording.get(name);
      if (recording) await waitAtMost(recording, giveUpAtOf(task, fireMs) - this.deps.store.now(), this.deps.stopping, this.deps.sleep);
      // Catching up, the claim of an older fire may have learned that later ones were decided too.
      if ((this.deps.knowledge.decidedThrough(name) ?? -1) >= fireMs) {
        outcome.decided = true;
        return;
      }
      const wait = turnOf(task, fireMs) - this.deps.store.now();
      if (wait > 0) await this.deps.sleep(wait, this.deps.stopping);
      run = await this.claim(task, fireMs, how.catchUp ?? false, outcome);
    } finally {
      claimed();
      if (this.claimChains.get(name) === chain) this.claimChains.delete(name);
      how.settled?.(outcome.decided);
    }
    await run?.();
  }

  /** Asks the store until it decides; returns the run to perform when this replica won. */
  private async claim(
    task: ScheduledTask,
    fireMs: number,
    catchUp: boolean,
    outcome: { decided: boolean },
  ): Promise<(() => Promise<void>) | undefined> {
    const { store, instance, leaseTtlMs } = this.deps;
    const definition = task.published.definition;
    const token = `${this.tokenPrefix}.${(this.tokenCount++).toString(36)}`;
    const giveUpAt = giveUpAtOf(task, fireMs);
    // Every ask for this fire is the same request (same token): the store answers a repeat alike.
    const request: ClaimRequest = {
      task: definition.name,
      digest: task.published.digest,
      scheduledMs: fireMs,
      deadlineMs: definition.deadlineMs,
      overlap: definition.overlap,
      leaseTtlMs,
      token,
      instance,
      paused: definition.paused ?? false,
      catchUp,
      nextMs: task.trigger.next(fireMs),
    };
    // An ask that timed out is still queued on the connection, and Redis will run it before anything
    // sent after it: the next try waits for its answer instead of sending it again. Sent again, its
    // 'won' would be thrown away, and once another replica had won a later fire of an overlap-allow
    // task the repeat would read 'lost': the fire decided, and run by nobody.
    let asking: Promise<ClaimResult> | undefined;
    let backoffMs = 50;
    const backOff = async (): Promise<void> => {
      await this.deps.sleep(backoffMs, this.deps.stopping);
      backoffMs = Math.min(backoffMs * 2, 1_000);
    };
    for (;;) {
      if (this.deps.stopping.aborted) return undefined;
      let result: ClaimResult;
      try {
        result = await this.withTimeout('claim', () => (asking ??= this.ask(request, () => (asking = undefined))));
        asking = undefined;
      } catch (error) {
        this.deps.hub.emit('onStoreError', 'claim', error as Error);
        this.deps.logger.debug('claim failed; asking again', { task: definition.name, scheduledAt: new Date(fireMs).toISOString(), error: (error as Error).message });
        if (store.now() > giveUpAt) {
          this.deps.logger.error('gave up a fire: the store stayed unreachable past its deadline', {
            task: definition.name,
            scheduledAt: new Date(fireMs).toISOString(),
            error: (error as Error).message,
          });
          return undefined;
        }
        await backOff();
        continue;
      }
      switch (result.kind) {
        case 'busy': {
          // Queued behind a run that started late. If that run is ours, its end is the moment to ask again.
          const local = [...this.running].find((r) => r.task === definition.name);
          await Promise.race([local?.done ?? new Promise(() => {}), this.deps.sleep(result.retryInMs + 1, this.deps.stopping)]);
          continue;
        }
        case 'early':
        case 'recovering':
          await this.deps.sleep(result.retryInMs + 1, this.deps.stopping);
          continue;
        case 'stale':
          this.deps.onStale();
          return undefined;
        case 'before-definition':
          return undefined;
        case 'expired':
        case 'superseded':
          outcome.decided = true; // nobody asks for it any more, or a later fire's decision records it
          return undefined;
        case 'lost':
          outcome.decided = true;
          this.deps.knowledge.noteDecided(definition.name, result.decidedMs, '');
          this.claimed(definition.name, fireMs, 'lost');
          return undefined;
        case 'error':
          // This task's own keys hold what the store cannot read: the other tasks are unaffected,
          // and this one runs again once someone fixes or deletes the key.
          this.deps.hub.emit('onStoreError', 'claim', new StoreStateError('claim', result.key, result.message));
          if (this.unreadable.get(definition.name) !== result.message) {
            this.unreadable.set(definition.name, result.message); // once per task and cause, not per fire
            this.deps.logger.error('cannot claim a fire: the store holds state for this task that taskino cannot read', {
              task: definition.name,
              scheduledAt: new Date(fireMs).toISOString(),
              key: result.key,
              error: result.message,
              fix: 'fix or delete that key; the task runs again at its next fire',
            });
          }
          if (store.now() > giveUpAt) return undefined;
          await backOff();
          continue;
        case 'won':
        case 'skipped':
        case 'missed':
          if (this.unreadable.delete(definition.name)) this.deps.logger.info('the store state of this task is readable again', { task: definition.name });
          outcome.decided = true;
          this.deps.knowledge.noteDecided(definition.name, fireMs, token);
          await this.recorder.missed(task, result.previousMs, fireMs, result.kind === 'missed', pausedSpanOf(task, result));
          if (result.kind === 'skipped') {
            this.deps.hub.emit('onSkip', { task: definition.name, scheduledAt: new Date(fireMs), reason: result.reason, count: 1 });
          } else if (result.kind === 'won') {
            if (result.takenOverFrom) {
              this.deps.logger.warn('took over a run whose replica stopped heartbeating mid-run; it is presumed dead', {
                task: definition.name,
                deadInstance: result.takenOverFrom,
                scheduledAt: new Date(fireMs).toISOString(),
              });
            }
            this.claimed(definition.name, fireMs, 'won');
            const leaseToken = definition.overlap === 'skip' ? token : undefined;
            return async () => void (await this.run(task, fireMs, 'schedule', leaseToken));
          }
          return undefined;
      }
    }
  }

  /** Sends a claim; `failed` is told when it fails (the connection broke): only then is it sent again. */
  private ask(request: ClaimRequest, failed: () => void): Promise<ClaimResult> {
    const asked = this.deps.store.claim(request);
    asked.catch(failed);
    return asked;
  }

  /** Tells the onClaim listeners, if any: the event's payload is built per fire only for them. */
  private claimed(task: string, fireMs: number, result: 'won' | 'lost'): void {
    if (this.deps.hub.listens('onClaim')) this.deps.hub.emit('onClaim', { task, scheduledAt: new Date(fireMs), result });
  }

  /**
   * Cluster scope, by hand: runs now on this replica unless overlap forbids it (or `force`). While
   * the store recovers its lost state it answers when to ask again, and the caller decides whether
   * to (the task may have changed or gone meanwhile).
   */
  async triggerManually(task: ScheduledTask, force: boolean): Promise<TriggerOutcome | { retryInMs: number }> {
    const { overlap, name } = task.published.definition;
    const token = randomBytes(12).toString('hex');
    const claim = await retryUntilStopped(this.deps, 'claimManual', () =>
      this.deps.store.claimManual({ task: name, overlap, force, leaseTtlMs: this.deps.leaseTtlMs, token, instance: this.deps.instance }),
    );
    if (!claim) throw new SchedulerStateError('the scheduler stopped before the task could be triggered');
    if (claim.kind === 'recovering') return { retryInMs: claim.retryInMs };
    if (claim.kind === 'skipped') return { ran: false, reason: 'overlap' };
    const result = await this.run(task, claim.storeNowMs, 'manual', claim.leased ? token : undefined);
    return { ran: true, result };
  }

  /** Pod scope: every replica runs every fire; overlap is judged locally. */
  async runLocally(task: ScheduledTask, fireMs: number, trigger: FireTrigger, force: boolean): Promise<CompletionContext | undefined> {
    const name = task.published.definition.name;
    if (!force && task.published.definition.overlap === 'skip' && this.runningCount(name) > 0) {
      this.deps.hub.emit('onSkip', { task: name, scheduledAt: new Date(fireMs), reason: 'overlap', count: 1 });
      return undefined;
    }
    return this.run(task, fireMs, trigger, undefined);
  }

  async run(task: ScheduledTask, fireMs: number, trigger: FireTrigger, leaseToken: string | undefined): Promise<CompletionContext> {
    const { store, knowledge, hub, replica } = this.deps;
    const definition = task.published.definition;
    const identity = {};
    let finish!: () => void;
    const handle: RunHandle = { task: definition.name, identity, done: new Promise<void>((r) => (finish = r)) };
    this.running.add(handle);
    this.runningByTask.set(definition.name, this.runningCount(definition.name) + 1);
    const startedMs = store.now();
    if (leaseToken) {
      knowledge.holdLease(definition.name, leaseToken, startedMs);
      this.leases.hold(definition.name, leaseToken, startedMs);
    }
    hub.emit('onRunStart', definition.name);
    try {
      const result = await runAttempts({
        task: definition.name,
        handler: task.handler,
        scheduledMs: fireMs,
        trigger,
        idempotencyKey: idempotencyKeyOf(definition.name, fireMs, trigger),
        replica,
        timeoutMs: definition.timeoutMs,
        retries: definition.retries,
        lastStartMs: (trigger === 'manual' ? startedMs : fireMs) + definition.deadlineMs,
        now: () => store.now(),
        sleep: this.deps.sleep,
        shutdown: this.deps.shutdown,
        runIdentity: this.deps.tasksMayStop ? identity : undefined,
      });
      if (leaseToken) this.recording.set(definition.name, handle.done);
      const costMs = Math.max(0, store.now() - startedMs);
      const record: RunRecord = {
        task: definition.name,
        scheduledAt: new Date(fireMs).toISOString(),
        startedAt: new Date(startedMs).toISOString(),
        durationMs: costMs,
        outcome: result.outcome,
        attempts: result.attempts,
        replica,
        trigger,
      };
      if (result.error) record.error = result.error.message;
      if (result.status !== undefined) record.status = result.status;
      if (leaseToken) this.leases.release(leaseToken);
      await this.recorder.persist(definition.name, [record], leaseToken === undefined ? undefined : { leaseToken, startedMs });
      const context: CompletionContext = {
        task: definition.name,
        scheduledAt: new Date(fireMs),
        startedAt: new Date(startedMs),
        costMs,
        ok: result.outcome === 'success',
        trigger,
        attempt: result.attempts,
        outcome: result.outcome,
        replica,
        latenessMs: startedMs - fireMs,
      };
      if (result.error) context.error = result.error;
      if (result.status !== undefined) context.status = result.status;
      hub.emit('onComplete', context);
      return context;
    } finally {
      if (leaseToken) {
        this.leases.release(leaseToken);
        knowledge.dropLease(leaseToken);
        knowledge.noteReleased(definition.name, leaseToken, startedMs, store.now());
      }
      this.running.delete(handle);
      if (this.recording.get(definition.name) === handle.done) this.recording.delete(definition.name);
      this.runningByTask.set(definition.name, this.runningCount(definition.name) - 1);
      finish();
    }
  }

  /** Claims, completions and renewals wait for a store that is slow but answering (see withTimeout). */
  withTimeout<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return withTimeout(operation, this.deps.storeTimeoutMs, call, this.lastAnswerAtMs);
  }
}

/**
 * A scheduled fire's key is the same on every replica and attempt, so an app can drop a repeat; a
 * manual run is a run of its own (two triggers in the same millisecond are two runs), so its key
 * carries a random part that no other run shares.
 */
function idempotencyKeyOf(task: string, fireMs: number, trigger: FireTrigger): string {
  const fire = `${task}@${new Date(fireMs).toISOString()}`;
  return trigger === 'manual' ? `${fire}/manual-${randomBytes(8).toString('hex')}` : fire;
}
