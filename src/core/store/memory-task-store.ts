import { digestOf, type DefinitionSet, type PublishedTask } from '../definitions.js';
import { systemClock, type Clock } from '../time.js';
import {
  HISTORY_LIMIT,
  type ClaimRequest,
  type ClaimResult,
  type LeaseRenewal,
  type ManualClaimRequest,
  type ManualClaimResult,
  type PauseSpan,
  type PauseState,
  type PublishRequest,
  type PublishResult,
  type RunRecord,
  type StoreEvent,
  type Progress,
  type SyncState,
  type TaskStore,
} from './task-store.js';

interface Decision {
  scheduledMs: number;
  token: string;
  previousMs: number | undefined;
  result: ClaimResult;
}

export interface MemoryTaskStoreOptions {
  /** Source of time. Default: the system clock. */
  clock?: Clock;
}

/**
 * The embedded store: one process, no Redis. Several schedulers in the same process may share one
 * instance and get the same once-per-fire guarantee the Redis store gives across processes.
 */
export class MemoryTaskStore implements TaskStore {
  readonly description = 'memory (single process)';
  private readonly clock: Clock;
  private set: DefinitionSet | undefined;
  private readonly decisions = new Map<string, Decision>();
  private readonly leases = new Map<string, { token: string; expiresAtMs: number; startedMs: number }>();
  /** Per task, the token of the run that ended last: a renewal arriving after it must not re-create its lease. */
  private readonly endedRuns = new Map<string, string>();
  private readonly pauses = new Map<string, PauseState>();
  private readonly pauseSpans = new Map<string, PauseSpan>();
  /** Per task, when its last leased run started and ended: a fire due in between overlapped it. */
  private readonly lastRuns = new Map<string, { startedMs: number; endedMs: number }>();
  private readonly histories = new Map<string, RunRecord[]>();
  private readonly lastSuccess = new Map<string, number>();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private pauseSeq = 0;

  constructor(options: MemoryTaskStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  now(): number {
    return this.clock.now();
  }
  clockOffsetMs(): number {
    return 0;
  }
  /** One process: nobody else to tell. */
  async announceProgress(_progress: Progress): Promise<void> {}

  onEvent(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  setRecoverySource(): void {
    // An in-process store cannot lose its state while its replicas live.
  }

  async sync(): Promise<SyncState> {
    return { generation: this.set?.generation ?? 0, pauseSeq: this.pauseSeq, epoch: 'memory', members: [] };
  }

  async leave(): Promise<void> {
    // Schedulers sharing this store live and die with the process; there is no one to tell.
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    const current = this.set;
    if (current && current.version >= request.version) {
      const conflict = current.version === request.version && current.digest !== request.contentDigest;
      return { set: current, accepted: false, conflict };
    }
    const now = this.now();
    const previous = new Map(current?.tasks.map((t) => [t.definition.name, t]) ?? []);
    const tasks: PublishedTask[] = request.tasks.map((definition) => {
      const digest = digestOf(definition);
      const old = previous.get(definition.name);
      return { definition, digest, sinceMs: old && old.digest === digest ? old.sinceMs : Math.min(now, request.anchorMs) };
    });
    this.set = {
      version: request.version,
      generation: (current?.generation ?? 0) + 1,
      digest: request.contentDigest,
      publishedAtMs: now,
      tasks,
    };
    this.emit({ type: 'definitions', generation: this.set.generation });
    return { set: this.set, accepted: true, conflict: false };
  }

  async loadDefinitions(): Promise<DefinitionSet | undefined> {
    return this.set;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const published = this.set?.tasks.find((t) => t.definition.name === request.task);
    if (!published || published.digest !== request.digest) return { kind: 'stale' };
    if (request.scheduledMs < published.sinceMs) return { kind: 'before-definition' };
    const decided = this.decisions.get(request.task);
    if (decided && request.scheduledMs <= decided.scheduledMs) {
      if (request.scheduledMs === decided.scheduledMs && decided.token === request.token) return decided.result;
      return { kind: 'lost', decidedMs: decided.scheduledMs };
    }
    const now = this.now();
    if (request.scheduledMs > now) return { kind: 'early', retryInMs: request.scheduledMs - now };
    const previousMs = decided?.scheduledMs;
    const span = this.pauseSpans.get(request.task);
    const pause = span ? { pause: span } : {};
    let result: ClaimResult;
    // The same rules, in the same order, as claim.lua (one process: no dead holders, no lost replies).
    if (request.paused || this.pauses.get(request.task)?.paused) result = { kind: 'skipped', reason: 'paused', previousMs, ...pause };
    else if (now > request.scheduledMs + request.deadlineMs) result = { kind: 'missed', previousMs, ...pause };
    else if (request.overlap === 'skip' && request.nextMs !== undefined && now >= request.nextMs) result = { kind: 'skipped', reason: 'overlap', previousMs, ...pause };
    else if (request.overlap === 'skip' && this.leaseHolder(request.task) !== undefined) {
      const lease = this.leases.get(request.task)!;
      // Due before the running run started: it waits for the run, until its own next fire at most.
      if (lease.startedMs >= request.scheduledMs) return { kind: 'busy', retryInMs: Math.min(100, lease.expiresAtMs - now) };
      result = { kind: 'skipped', reason: 'overlap', previousMs, ...pause };
    } else if (request.overlap === 'skip' && this.overlapsLastRun(request.task, request.scheduledMs)) {
      result = { kind: 'skipped', reason: 'overlap', previousMs, ...pause };
    } else {
      if (request.overlap === 'skip') this.leases.set(request.task, { token: request.token, expiresAtMs: now + request.leaseTtlMs, startedMs: now });
      result = { kind: 'won', previousMs, storeNowMs: now, ...pause };
    }
    this.decisions.set(request.task, { scheduledMs: request.scheduledMs, token: request.token, previousMs, result });
    return result;
  }

  async claimManual(request: ManualClaimRequest): Promise<ManualClaimResult> {
    const now = this.now();
    if (request.overlap === 'skip' && this.leaseHolder(request.task) !== undefined) {
      if (!request.force) return { kind: 'skipped', reason: 'overlap' };
      return { kind: 'won', storeNowMs: now, leased: false };
    }
    if (request.overlap === 'skip') {
      this.leases.set(request.task, { token: request.token, expiresAtMs: now + request.leaseTtlMs, startedMs: now });
    }
    return { kind: 'won', storeNowMs: now, leased: request.overlap === 'skip' };
  }

  async renewLease(task: string, token: string, ttlMs: number): Promise<LeaseRenewal> {
    const holder = this.leaseHolder(task);
    if (holder !== undefined && holder !== token) return 'taken';
    if (holder === undefined && this.endedRuns.get(task) === token) return 'ended';
    const startedMs = this.leases.get(task)?.startedMs ?? 0;
    this.leases.set(task, { token, expiresAtMs: this.now() + ttlMs, startedMs });
    return holder === token ? 'renewed' : 'restored';
  }

  async complete(task: string, records: RunRecord[], leaseToken: string | undefined, endedMs?: number): Promise<void> {
    if (leaseToken !== undefined) this.endedRuns.set(task, leaseToken);
    const lease = this.leases.get(task);
    if (leaseToken !== undefined && lease && this.leaseHolder(task) === leaseToken) {
      this.leases.delete(task);
      this.lastRuns.set(task, { startedMs: lease.startedMs, endedMs: Math.min(endedMs ?? this.now(), this.now()) });
    }
    const history = this.histories.get(task) ?? [];
    for (const record of records) {
      history.unshift(record);
      if (record.outcome === 'success') this.lastSuccess.set(task, this.now());
    }
    this.histories.set(task, history.slice(0, HISTORY_LIMIT));
  }

  async setPaused(task: string, paused: boolean): Promise<PauseState> {
    if ((this.pauses.get(task)?.paused ?? false) !== paused) {
      const span = this.pauseSpans.get(task) ?? {};
      this.pauseSpans.set(task, paused ? { ...span, pausedAtMs: this.now() } : { ...span, resumedAtMs: this.now() });
    }
    const state = { paused, seq: ++this.pauseSeq };
    this.pauses.set(task, state);
    this.emit({ type: 'pause' });
    return state;
  }

  async pauseStates(): Promise<Map<string, PauseState>> {
    return new Map(this.pauses);
  }

  async history(task: string, limit: number): Promise<RunRecord[]> {
    return (this.histories.get(task) ?? []).slice(0, limit);
  }

  async lastSuccessMs(task: string): Promise<number | undefined> {
    return this.lastSuccess.get(task);
  }

  private overlapsLastRun(task: string, scheduledMs: number): boolean {
    const run = this.lastRuns.get(task);
    return run !== undefined && run.startedMs < scheduledMs && scheduledMs < run.endedMs;
  }

  private leaseHolder(task: string): string | undefined {
    const lease = this.leases.get(task);
    if (!lease) return undefined;
    if (lease.expiresAtMs <= this.now()) {
      this.leases.delete(task);
      return undefined;
    }
    return lease.token;
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
