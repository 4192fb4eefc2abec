import { StoreStateError } from '../errors.js';
import type { Heartbeat, SyncState, TaskStore } from '../store/task-store.js';
import { withTimeout, type Sleep } from '../time.js';
import type { ReplicaKnowledge } from './knowledge.js';
import type { ListenerHub } from './listener-hub.js';
import type { Logger } from './types.js';

export interface HeartbeatLoopDeps {
  store: TaskStore;
  sleep: Sleep;
  hub: ListenerHub;
  logger: Logger;
  knowledge: ReplicaKnowledge;
  instance: string;
  /** Between two heartbeats, in ms. */
  pollIntervalMs: number;
  /** Bound on one store call, in ms. */
  storeTimeoutMs: number;
  /** Once aborted, the loop only beats (for runs still finishing): no definitions, no pauses. */
  stopping: AbortSignal;
  /** Some finished runs are not yet recorded in the store (see Heartbeat.settling). */
  settling: () => boolean;
  /** The live instances, sorted, after every beat. */
  onMembers: (instances: string[]) => void;
  /** The stored definitions' generation, after every beat while not stopping; reloads when it moved. */
  onGeneration: (generation: number) => Promise<void>;
}

/**
 * Beats to the store on a fixed interval, learns the live members, the definitions' generation and
 * pause changes from the reply. The beat outlives claiming: while runs finish during a stop, their
 * leases must stay trusted, so the loop ends only when told to.
 */
export class HeartbeatLoop {
  private pollNow = new AbortController();
  private readonly ended = new AbortController();
  private loop: Promise<void> | undefined;
  private pauseSeq = -1;
  /** When this instance first registered, in store time, once the store has said. */
  private registeredSinceMs: number | undefined;
  private beaten!: () => void;
  /** Settles once the first beat has been answered or has failed. */
  readonly firstBeat = new Promise<void>((resolve) => (this.beaten = resolve));

  constructor(private readonly deps: HeartbeatLoopDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Whether it has begun beating (this instance may be registered as alive). */
  get started(): boolean {
    return this.loop !== undefined;
  }

  /** Beat now rather than at the next interval: something suggests the shared state moved. */
  pollSoon(): void {
    this.pollNow.abort();
  }

  /** Stops beating once the beat in progress, if any, has finished. */
  async end(): Promise<void> {
    this.ended.abort();
    await this.loop;
  }

  /**
   * Dead after 5 missed beats plus a store timeout: one slow heartbeat must not cost a live replica
   * its leases, and a killed one's tasks should wait seconds, not the lease TTL.
   */
  heartbeat(): Heartbeat {
    const { instance, pollIntervalMs, storeTimeoutMs } = this.deps;
    return {
      instance,
      intervalMs: pollIntervalMs,
      deadAfterMs: 5 * pollIntervalMs + storeTimeoutMs,
      sinceMs: this.registeredSinceMs,
      settling: this.deps.settling(),
    };
  }

  /** The unreadable-state error last logged (each cause is logged once). */
  private reportedStateError: string | undefined;

  private async run(): Promise<void> {
    const { stopping } = this.deps;
    while (!this.ended.signal.aborted) {
      try {
        await this.beat();
      } catch (error) {
        this.deps.hub.emit('onStoreError', 'sync', error as Error);
        const message = (error as Error).message;
        // Unreadable state stops every cluster task until someone fixes it: say so, once per cause.
        if (error instanceof StoreStateError && message !== this.reportedStateError) {
          this.reportedStateError = message;
          this.deps.logger.error('the store holds state taskino cannot read; cluster tasks wait until it is fixed', { key: error.key, error: message });
        } else this.deps.logger.debug('store heartbeat failed', { error: message });
      }
      this.beaten();
      if (this.pollNow.signal.aborted && !stopping.aborted) this.pollNow = new AbortController();
      if (this.ended.signal.aborted) return;
      await this.deps.sleep(this.deps.pollIntervalMs, stopping.aborted ? this.ended.signal : this.pollNow.signal);
    }
  }

  private async beat(): Promise<void> {
    const { store, storeTimeoutMs, instance } = this.deps;
    const state: SyncState = await withTimeout('sync', storeTimeoutMs, () => store.sync(this.heartbeat()));
    this.deps.onMembers(state.members.map((m) => m.instance));
    this.registeredSinceMs ??= state.members.find((m) => m.instance === instance)?.sinceMs;
    if (this.deps.stopping.aborted) return;
    await this.deps.onGeneration(state.generation);
    if (state.pauseSeq !== this.pauseSeq) {
      const pauses = await withTimeout('pauses', storeTimeoutMs, () => store.pauseStates());
      for (const [task, pause] of pauses) this.deps.knowledge.pauses.set(task, pause);
      this.pauseSeq = state.pauseSeq;
    }
  }
}
