import type { DefinitionSet, TaskDefinition } from '../definitions.js';
import type { FireTrigger, Overlap } from '../task.js';

export type RunOutcome = 'success' | 'failure' | 'timeout' | 'missed';

/** One entry of a task's history (the last 100 are kept). */
export interface RunRecord {
  task: string;
  scheduledAt: string;
  startedAt: string | null;
  durationMs: number | null;
  outcome: RunOutcome;
  attempts: number;
  replica: string;
  trigger: FireTrigger;
  error?: string;
  /** HTTP status of the last attempt, for HTTP tasks. */
  status?: number;
}

export interface ClaimRequest {
  task: string;
  digest: string;
  scheduledMs: number;
  deadlineMs: number;
  overlap: Overlap;
  leaseTtlMs: number;
  /** Unique per fire attempt of a replica; a retried claim with the same token is idempotent. */
  token: string;
  /** The claiming scheduler instance (unique per process), as it heartbeats: a run's lease belongs to it. */
  instance: string;
  /** The definition itself says paused: the fire is decided as skipped. */
  paused: boolean;
  /**
   * An older due fire, claimed on the way to a later one (this replica woke late or just started).
   * The store decides it only if some live replica was already up when it was due (it was owed, and
   * others may be asking for it); else it is `superseded`: when every replica was down at a fire, only
   * the latest due one runs and the older ones are recorded as missed.
   */
  catchUp?: boolean;
  /**
   * The task's next scheduled time after this fire, if any. For overlap `skip`, a fire whose next
   * fire is already due when it is claimed is skipped (reason overlap): after an outage only the
   * latest due fire runs, and no queue of late runs builds up.
   */
  nextMs?: number;
}

/**
 * When the task was last paused and resumed (store time, ms), as far as the store knows: fires that
 * nobody decided and that fall inside [pausedAtMs, resumedAtMs] (or after pausedAtMs while it is
 * still paused) were paused, not missed.
 */
export interface PauseSpan {
  pausedAtMs?: number;
  resumedAtMs?: number;
}

/** A fire whose keys hold what the store cannot read (another program's data, or a newer format). */
export interface ClaimError {
  kind: 'error';
  /** What the store answered, e.g. Redis's WRONGTYPE message. */
  message: string;
  /** Where the unreadable state is (for Redis, the key). */
  key: string;
}

/**
 * The store's decision on one fire. Exactly one replica receives a deciding answer
 * (won, skipped, missed) for a fire; the others receive `lost`.
 */
export type ClaimResult =
  | {
      kind: 'won';
      previousMs: number | undefined;
      storeNowMs: number;
      /** The lease was held by this instance, which stopped heartbeating mid-run: its run is presumed dead. */
      takenOverFrom?: string;
      pause?: PauseSpan;
    }
  | { kind: 'skipped'; reason: 'overlap' | 'paused'; previousMs: number | undefined; pause?: PauseSpan }
  | { kind: 'missed'; previousMs: number | undefined; pause?: PauseSpan }
  | { kind: 'lost'; decidedMs: number }
  | { kind: 'early'; retryInMs: number }
  | { kind: 'recovering'; retryInMs: number }
  /** A run that started after this fire was due (catching up) still holds the lease: ask again. */
  | { kind: 'busy'; retryInMs: number }
  | { kind: 'stale' }
  | { kind: 'before-definition' }
  /** Too late to decide: every replica has given up on it; the next decision records it as missed. */
  | { kind: 'expired' }
  /** A catch-up fire no live replica was up for: the later fire's decision records it as missed. */
  | { kind: 'superseded' }
  | ClaimError;

export interface ManualClaimRequest {
  task: string;
  overlap: Overlap;
  force: boolean;
  leaseTtlMs: number;
  token: string;
  instance: string;
}

export type ManualClaimResult =
  | { kind: 'won'; storeNowMs: number; leased: boolean }
  | { kind: 'skipped'; reason: 'overlap' }
  | { kind: 'recovering'; retryInMs: number };

/**
 * 'restored': the store had lost the lease (it restarted empty) and holds it again; 'ended': the
 * run's completion got there first (a renewal sent just before it was held up): nothing to renew.
 */
export type LeaseRenewal = 'renewed' | 'restored' | 'taken' | 'ended';

export interface PublishRequest {
  version: number;
  /** Digest of what the caller registered (before delays were anchored): equal sets compare equal. */
  contentDigest: string;
  /** The store time the caller anchored delays at; a new task's "since" is never later than it. */
  anchorMs: number;
  tasks: TaskDefinition[];
}

export interface PublishResult {
  /** The set in force after the call: ours if accepted, else the stored one. */
  set: DefinitionSet;
  accepted: boolean;
  /** The stored set has our version but other content: the caller forgot to raise the version. */
  conflict: boolean;
}

export interface PauseState {
  paused: boolean;
  /** Cluster-wide sequence of pause changes: the higher one wins when states are merged. */
  seq: number;
}

/** A scheduler instance announcing itself in the heartbeat. */
export interface Heartbeat {
  /** Unique per scheduler instance (a restarted process is a new instance). */
  instance: string;
  /** How often this instance heartbeats, in ms (whole); it is judged late after 2 missed beats. */
  intervalMs: number;
  /** After this long without a heartbeat (of Redis service time), in ms, it is dead: its leases may be taken over. */
  deadAfterMs: number;
  /**
   * When this instance first registered, in store time, as the store told it (`SyncState.members`);
   * sent back so that a store which lost its state still knows which fires the instance was up for.
   * Omitted on the first beat: the store takes its own clock.
   */
  sinceMs?: number;
  /**
   * Some of this instance's run completions have not reached the store yet (a write failed and is
   * being retried): its leases prove nothing until they land, so fires behind them wait.
   */
  settling?: boolean;
}

/** A live instance, as the heartbeat reports it. */
export interface Member {
  instance: string;
  /** When the instance first registered, in store time (ms). */
  sinceMs: number;
}

/** A cheap heartbeat: what changed since the replica last looked. */
export interface SyncState {
  generation: number;
  pauseSeq: number;
  /** Identifies the store's state; a new value means the state was lost (e.g. Redis restarted empty). */
  epoch: string;
  /** Instances that heartbeated recently, sorted by instance; empty when the store does not track them. */
  members: Member[];
}

/** What a replica knows, handed back to a store that lost its state. */
export interface RecoverySnapshot {
  set: DefinitionSet | undefined;
  /** Per task, the latest fire this replica knows was decided, with its token when the decision was its own. */
  decided: Array<{ task: string; scheduledMs: number; token: string }>;
  pauses: Array<{ task: string; state: PauseState }>;
  /** The leases of its running runs, with when each run started (store time) when known. */
  leases: Array<{ task: string; token: string; ttlMs: number; instance: string; startedMs?: number }>;
  /**
   * Leases this replica released within the last lease TTL, with when each run started and ended
   * (store time): a failover may have lost the release, and the lease would then hold the task for nothing.
   */
  released: Array<{ task: string; token: string; startedMs?: number; endedMs: number }>;
}

/**
 * A replica's announcement: every fire it dispatched as the home of its tasks, due at or before
 * `throughMs` (store time), is decided. Valid only for a replica with the same view of the live
 * replicas (`viewDigest`; it dispatched every fire due from `viewSinceMs` on under that view) and the
 * same scheduled tasks (`tasksDigest`).
 */
export interface Progress {
  instance: string;
  throughMs: number;
  viewDigest: string;
  viewSinceMs: number;
  tasksDigest: string;
}

/** `members`: a replica joined or left (the others should beat now to see it). */
export type StoreEvent =
  | { type: 'definitions'; generation: number }
  | { type: 'pause' }
  | { type: 'members' }
  | { type: 'progress'; progress: Progress }
  /** The store lost its state (Redis restarted empty): no fire is claimed for `recoveryWindowMs` while replicas hand back what they know. */
  | { type: 'state-lost'; recoveryWindowMs: number };

export interface TaskStore {
  readonly description: string;
  /** Starts background machinery (pub/sub). Reference-counted: one per scheduler using the store. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** The store's clock, estimated locally (local clock minus the measured offset). */
  now(): number;
  /** The system clock (or the clock the store was given) now, minus the store's clock as estimated now, in ms. */
  clockOffsetMs(): number;
  /** Pushes `progress` to the other replicas (best effort: their safety-net claims cover a loss). */
  announceProgress(progress: Progress): Promise<void>;
  /** Called with every push notification; returns an unsubscribe function. */
  onEvent(listener: (event: StoreEvent) => void): () => void;
  /** Where the store asks for what a replica knows after it lost its state. */
  setRecoverySource(source: () => RecoverySnapshot): void;

  /** The heartbeat: registers `beat`'s instance as alive (when given) and reports what changed. */
  sync(beat?: Heartbeat): Promise<SyncState>;
  /** A stopping instance leaves, so that the others need not wait for it to be judged dead. */
  leave(instance: string): Promise<void>;
  publish(request: PublishRequest): Promise<PublishResult>;
  loadDefinitions(): Promise<DefinitionSet | undefined>;
  claim(request: ClaimRequest): Promise<ClaimResult>;
  claimManual(request: ManualClaimRequest): Promise<ManualClaimResult>;
  /** `startedMs`: when the run started (store time), which fires due meanwhile are judged by. */
  renewLease(task: string, token: string, ttlMs: number, instance: string, startedMs?: number): Promise<LeaseRenewal>;
  /**
   * Records finished runs (or missed fires) and releases the lease `leaseToken` if still held, as of
   * `endedMs` (store time, when the run ended; default: now): fires due after it did not overlap the
   * run, however late this write arrives. `startedMs` (store time) tells when the run really started,
   * which may be well after its claim was decided: fires due before it did not overlap the run either.
   */
  complete(task: string, records: RunRecord[], leaseToken: string | undefined, endedMs?: number, startedMs?: number): Promise<void>;
  setPaused(task: string, paused: boolean): Promise<PauseState>;
  pauseStates(): Promise<Map<string, PauseState>>;
  history(task: string, limit: number): Promise<RunRecord[]>;
  lastSuccessMs(task: string): Promise<number | undefined>;
  /**
   * When the store last answered a claim, completion or heartbeat (`performance.now()` ms). A store
   * that keeps answering is slow, not unreachable: a call queued behind others is waited for instead
   * of sent again (see withTimeout). Without it, a call slower than `storeTimeoutMs` counts as failed.
   */
  lastAnswerAtMs?(): number;
}

export const HISTORY_LIMIT = 100;
