import { Cluster } from 'ioredis';
import { digestOf, type DefinitionSet } from '../../definitions.js';
import { StoreStateError } from '../../errors.js';
import { monotonicClock, systemClock, type Clock } from '../../time.js';
import {
  HISTORY_LIMIT,
  type ClaimRequest,
  type ClaimResult,
  type Heartbeat,
  type Member,
  type Progress,
  type LeaseRenewal,
  type ManualClaimRequest,
  type ManualClaimResult,
  type PauseState,
  type PublishRequest,
  type PublishResult,
  type RecoverySnapshot,
  type RunRecord,
  type StoreEvent,
  type SyncState,
  type TaskStore,
} from '../task-store.js';
import { Batcher, ItemFailure } from './batcher.js';
import { ClaimAcknowledger, type ClaimAcks } from './claim-acks.js';
import { ClockOffsetEstimator } from './clock-offset.js';
import { RedisKeys } from './keys.js';
import { parseChannelMessage, progressMessage } from './channel-messages.js';
import type { RedisClient } from './lua-script.js';
import { parseClaim, parseDefinitions, parsePause } from './replies.js';
import { msOrBlank, scripts } from './scripts.js';
import { StoreRecovery } from './store-recovery.js';

export type { ClaimAcks } from './claim-acks.js';

export interface RedisTaskStoreOptions {
  /** Groups the replicas that share schedules; every key lives under it. Default "default". */
  scheduler?: string;
  /**
   * Local clock; the store's time is this minus its offset to Redis TIME, measured at every
   * heartbeat. Default: the monotonic clock (monotonicClock), so that a step of the system clock
   * between two measurements cannot make this replica think fires are due, or past their
   * deadline, seconds before or after they are. The reported offset (clockOffsetMs) is still the
   * system clock's.
   */
  clock?: Clock;
  /**
   * After Redis lost its state, how long no fire is claimed while live replicas hand back what they
   * know, in ms. It must cover a replica's reconnect backoff plus its heartbeat interval plus a
   * store timeout (2 s + 1 s + 2 s with the defaults). Default 5000.
   */
  recoveryWindowMs?: number;
  /**
   * With Redis replication (Sentinel), a claim counts only once `replicas` replicas have acknowledged
   * it (Redis WAIT, up to `timeoutMs`): a claim made on a primary that a failover has just replaced,
   * whose writes will be discarded, must not run while the new primary decides the same fire. When
   * fewer acknowledge in time, `isPrimary()` settles it: true (the replicas are merely down: the
   * claim stands), false (a replaced primary: the claim is retried). Default: no acknowledgement.
   */
  claimAcks?: ClaimAcks;
}

type Row = Array<string | Row>;

/**
 * Fires decided per Lua call. Small enough that Redis starts on the first batch while this replica
 * still prepares the next (and stays responsive to others); large enough to cost few round trips.
 */
const CLAIM_BATCH = 100;
const COMPLETE_BATCH = 250;
/** Claim (and completion) batches a replica has sent and not yet had answered: enough to keep Redis busy. */
const BATCHES_IN_FLIGHT = 4;

interface Completion {
  task: string;
  records: RunRecord[];
  leaseToken: string | undefined;
  endedMs: number | undefined;
  startedMs: number | undefined;
}

/**
 * The shared store on Redis (standalone, Sentinel or Cluster through ioredis). Each decision is one
 * Lua script, and time decisions use the Redis server clock.
 */
export class RedisTaskStore implements TaskStore {
  readonly description: string;
  private readonly keys: RedisKeys;
  private readonly clock: Clock;
  /** The clock whose offset to Redis is reported: the system clock, unless one is given. */
  private readonly reportedClock: Clock;
  private readonly recovery: StoreRecovery;
  private readonly acks: ClaimAcknowledger | undefined;
  private readonly offset = new ClockOffsetEstimator();
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private subscriber: RedisClient | undefined;
  private openCount = 0;
  private lastAnswerAt = performance.now();
  private readonly claims = new Batcher<ClaimRequest, ClaimResult>((batch) => this.claimBatch(batch), CLAIM_BATCH, BATCHES_IN_FLIGHT);
  private readonly completions = new Batcher<Completion, void>((batch) => this.completeBatch(batch), COMPLETE_BATCH, BATCHES_IN_FLIGHT);

  constructor(
    private readonly redis: RedisClient,
    options: RedisTaskStoreOptions = {},
  ) {
    this.keys = new RedisKeys(options.scheduler ?? 'default');
    this.clock = options.clock ?? monotonicClock;
    this.reportedClock = options.clock ?? systemClock;
    this.acks = options.claimAcks ? new ClaimAcknowledger(redis, this.keys, this.clock, options.claimAcks) : undefined;
    this.recovery = new StoreRecovery(redis, this.keys, options.recoveryWindowMs ?? 5_000, this.acks);
    this.recovery.onLost = (recoveryWindowMs) => this.emit({ type: 'state-lost', recoveryWindowMs });
    // After any reconnection, hand back what this replica knows (all merges are monotonic): a server
    // restored from an older snapshot, or a promoted replica that lagged, keeps its epoch marker
    // but may have lost recent decisions.
    let connectedOnce = false;
    redis.on('ready', () => {
      this.acks?.connected();
      if (connectedOnce) this.recovery.reconnected();
      connectedOnce = true;
    });
    this.description = `redis (scheduler "${this.keys.scheduler}")`;
  }

  async open(): Promise<void> {
    if (this.openCount++ > 0) return;
    const subscriber: RedisClient = this.redis instanceof Cluster ? this.redis.duplicate() : this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', () => {}); // reconnects by itself; the heartbeat reports outages
    subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
    // Subscribing may wait for Redis; the heartbeat covers the gap, so do not block start-up on it.
    subscriber.subscribe(this.keys.channel).catch(() => {});
  }

  async close(): Promise<void> {
    if (--this.openCount > 0) return;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.disconnect();
  }

  now(): number {
    return this.clock.now() - this.offset.offsetMs;
  }

  clockOffsetMs(): number {
    return Math.round(this.reportedClock.now() - this.now());
  }

  onEvent(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setRecoverySource(source: () => RecoverySnapshot): void {
    this.recovery.source = source;
  }

  async sync(beat?: Heartbeat): Promise<SyncState> {
    // After a reconnection the beat must not land before what this replica knows: a lease whose
    // release a failover lost would look held by a live replica, and fires would skip behind it.
    await this.recovery.handBackIfPending();
    const k = this.keys;
    const sent = this.clock.now();
    const reply = (await this.answered(this.readable('sync', scripts.sync.run(
      this.redis,
      [k.epoch, k.definitions, k.pauseSeq, k.members, k.liveness],
      [
        beat?.instance ?? '',
        Math.max(1, Math.round(beat?.intervalMs ?? 1_000)),
        Math.max(1, Math.round(beat?.deadAfterMs ?? 5_000)),
        msOrBlank(beat?.sinceMs),
        beat?.settling ? '1' : '0',
        k.channel,
      ],
    )))) as string[];
    const received = this.clock.now();
    const [epoch = '', generation = '0', pauseSeq = '0', seconds = '0', micros = '0', ...pairs] = reply;
    this.offset.add(sent, received, Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
    if (this.recovery.epochLost(epoch)) {
      await this.recovery.recover();
      return this.sync(beat);
    }
    this.recovery.epochSeen(epoch);
    await this.recovery.handBackIfPending(); // the connection may have been re-established during this call
    const members: Member[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) members.push({ instance: pairs[i] ?? '', sinceMs: Number(pairs[i + 1]) });
    members.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
    return { generation: Number(generation), pauseSeq: Number(pauseSeq), epoch, members };
  }

  async leave(instance: string): Promise<void> {
    await this.redis.pipeline().hdel(this.keys.members, instance).publish(this.keys.channel, 'members').exec();
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    const k = this.keys;
    const pairs = request.tasks.flatMap((t) => [t.name, digestOf(t)]);
    const reply = (await this.recovery.withRecovery(() =>
      scripts.publish.run(this.redis, [k.epoch, k.definitions], [request.version, request.contentDigest, JSON.stringify(request.tasks), k.channel, request.anchorMs, ...pairs]),
    )) as Row;
    const status = reply[0] as string;
    const set = parseDefinitions(reply[1] as string[]);
    if (!set) throw new Error('publish returned no definitions');
    return { set, accepted: status === 'accepted', conflict: status === 'conflict' };
  }

  async loadDefinitions(): Promise<DefinitionSet | undefined> {
    const raw = (await this.readable('load definitions', this.redis.hgetall(this.keys.definitions))) as Record<string, string>;
    try {
      return parseDefinitions(raw);
    } catch (error) {
      throw new StoreStateError('load definitions', this.keys.definitions, `it holds definitions this version of taskino cannot read (${(error as Error).message})`);
    }
  }

  /**
   * A WRONGTYPE answer names no key: find the shared key that holds the wrong type (another program's
   * data, or junk), so that the error says which key to fix.
   */
  private async readable<T>(operation: string, reply: Promise<T>): Promise<T> {
    try {
      return await reply;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('WRONGTYPE')) throw error;
      const k = this.keys;
      const expected: Array<[string, string]> = [[k.epoch, 'string'], [k.definitions, 'hash'], [k.pauses, 'hash'], [k.pauseSeq, 'string'], [k.members, 'hash'], [k.liveness, 'hash']];
      for (const [key, type] of expected) {
        const actual = await this.redis.type(key);
        if (actual !== type && actual !== 'none') throw new StoreStateError(operation, key, `it is a ${actual}, not a ${type} (${error.message})`);
      }
      throw error;
    }
  }

  claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.claims.add(request);
  }

  private async claimBatch(requests: ClaimRequest[]): Promise<ClaimResult[]> {
    // After a reconnection (a failover to a replica that may lag), what this replica knows goes back
    // first: a claim reaching the new primary before it would find a decided fire undecided.
    await this.recovery.handBackIfPending();
    const k = this.keys;
    const keys = [k.epoch, k.definitions, k.pauses, k.members, k.liveness];
    const args: Array<string | number> = [];
    for (const r of requests) {
      keys.push(k.taskState(r.task), k.lease(r.task));
      args.push(r.task, r.digest, r.scheduledMs, r.deadlineMs, r.overlap, r.leaseTtlMs, r.token, r.instance, r.paused ? '1' : '0', r.catchUp ? '1' : '0', msOrBlank(r.nextMs));
    }
    const connection = this.acks?.connection ?? 0;
    const replies = (await this.answered(this.recovery.withRecovery(() => scripts.claim.run(this.redis, keys, args)))) as string[][];
    await this.acks?.afterClaims(connection, replies.map((reply) => reply[0] ?? ''));
    return requests.map((_, i) => parseClaim(replies[i] ?? []));
  }

  async claimManual(request: ManualClaimRequest): Promise<ManualClaimResult> {
    await this.recovery.handBackIfPending();
    const connection = this.acks?.connection ?? 0;
    const k = this.keys;
    const reply = (await this.recovery.withRecovery(() =>
      scripts.claimManual.run(
        this.redis,
        [k.epoch, k.lease(request.task), k.taskState(request.task)],
        [request.overlap, request.force ? '1' : '0', request.leaseTtlMs, request.token, request.instance],
      ),
    )) as string[];
    const [kind, a, b] = reply;
    if (kind === 'overlap') return { kind: 'skipped', reason: 'overlap' };
    if (kind === 'recovering') return { kind: 'recovering', retryInMs: Number(a) };
    await this.acks?.acknowledged(connection);
    return { kind: 'won', storeNowMs: Number(a), leased: b === '1' };
  }

  async renewLease(task: string, token: string, ttlMs: number, instance: string, startedMs?: number): Promise<LeaseRenewal> {
    const k = this.keys;
    const args = [token, ttlMs, instance, msOrBlank(startedMs)];
    return (await scripts.renewLease.run(this.redis, [k.lease(task), k.taskState(task)], args)) as LeaseRenewal;
  }

  complete(task: string, records: RunRecord[], leaseToken: string | undefined, endedMs?: number, startedMs?: number): Promise<void> {
    return this.completions.add({ task, records, leaseToken, endedMs, startedMs });
  }

  private async completeBatch(completions: Completion[]): Promise<Array<void | ItemFailure>> {
    const k = this.keys;
    const keys: string[] = [];
    const args: Array<string | number> = [HISTORY_LIMIT];
    for (const c of completions) {
      keys.push(k.taskState(c.task), k.lease(c.task), k.history(c.task));
      args.push(c.leaseToken ?? '', msOrBlank(c.endedMs), msOrBlank(c.startedMs), c.records.length, ...c.records.map((r) => JSON.stringify(r)));
    }
    const replies = (await this.answered(scripts.complete.run(this.redis, keys, args))) as Array<string | string[]>;
    // One task's unreadable keys fail its own completion only; the others of the batch are recorded.
    return completions.map((c, i) => {
      const reply = replies[i];
      if (Array.isArray(reply) && reply[0] === 'error') return new ItemFailure(new StoreStateError('complete', reply[2] ?? k.history(c.task), reply[1] ?? ''));
      return undefined;
    });
  }

  async setPaused(task: string, paused: boolean): Promise<PauseState> {
    const k = this.keys;
    const reply = (await this.recovery.withRecovery(() =>
      scripts.setPause.run(this.redis, [k.epoch, k.pauses, k.pauseSeq, k.taskState(task)], [task, paused ? '1' : '0', k.channel]),
    )) as string[];
    return { paused, seq: Number(reply[1]) };
  }

  async pauseStates(): Promise<Map<string, PauseState>> {
    const raw = (await this.redis.hgetall(this.keys.pauses)) as Record<string, string>;
    return new Map(Object.entries(raw).map(([task, value]) => [task, parsePause(value)]));
  }

  async history(task: string, limit: number): Promise<RunRecord[]> {
    const entries = await this.redis.lrange(this.keys.history(task), 0, Math.max(0, limit - 1));
    return entries.map((e) => JSON.parse(e) as RunRecord);
  }

  async lastSuccessMs(task: string): Promise<number | undefined> {
    const value = await this.redis.hget(this.keys.taskState(task), 'lastSuccess');
    return value === null ? undefined : Number(value);
  }

  async announceProgress(progress: Progress): Promise<void> {
    await this.redis.publish(this.keys.channel, progressMessage(progress));
  }

  private onMessage(message: string): void {
    this.emit(parseChannelMessage(message));
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  lastAnswerAtMs(): number {
    return this.lastAnswerAt;
  }

  /** Notes when Redis answers: while it does, it is slow rather than unreachable (see withTimeout). */
  private async answered<T>(reply: Promise<T>): Promise<T> {
    const value = await reply;
    this.lastAnswerAt = performance.now();
    return value;
  }
}
