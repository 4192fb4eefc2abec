import { UnacknowledgedClaimError } from '../../errors.js';
import type { Clock } from '../../time.js';
import type { RedisKeys } from './keys.js';
import type { RedisClient } from './lua-script.js';

/** See `RedisTaskStoreOptions.claimAcks`. */
export interface ClaimAcks {
  replicas: number;
  timeoutMs: number;
  isPrimary(): Promise<boolean>;
}

/** While a primary has too few online replicas to acknowledge claims, how often it looks again, in ms. */
const ACKS_ABSENT_RECHECK_MS = 100;

/** Replies of claim.lua that wrote a decision (the others changed nothing). */
const DECIDING = new Set(['won', 'overlap', 'paused', 'missed']);

const RECONNECTED = 'the connection to Redis was re-established meanwhile';

/** Makes claims count only once Redis replicas hold them (with Sentinel, a replaced primary's writes are discarded). */
export class ClaimAcknowledger {
  /** Counts (re)connections: a WAIT only vouches for writes made on the same connection. */
  connection = 0;
  private absentUntilMs = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
    private readonly acks: ClaimAcks,
  ) {}

  connected(): void {
    this.connection++;
  }

  /** After a claim batch that ran on `connection` and got replies of these kinds. */
  async afterClaims(connection: number, kinds: string[]): Promise<void> {
    const deciding = kinds.some((kind) => DECIDING.has(kind));
    // 'lost' reports another replica's decision, which a replaced primary may hold unacknowledged.
    if (deciding || kinds.includes('lost')) await this.acknowledged(connection, !deciding);
  }

  /**
   * Waits for the replicas to hold the writes of the connection the claim used, or with `onlyRead`
   * what it read. When they did not and the server is still the primary with too few replicas
   * online (down, or resyncing, which can last long after a failover), claims stand without
   * waiting: a replica that connects meanwhile gets these writes in its sync.
   */
  async acknowledged(connection: number, onlyRead = false): Promise<void> {
    const { redis, acks } = this;
    // A reconnection since the script (Sentinel kills clients when it reconfigures a server) means
    // the script may have run on a server that is gone: nothing after it vouches for it.
    if (this.connection !== connection) throw new UnacknowledgedClaimError(0, acks.replicas, RECONNECTED);
    if (this.clock.now() < this.absentUntilMs) return;
    // WAIT covers this connection's writes; one write after a read covers every write the read saw.
    if (onlyRead) await redis.set(this.keys.readMark, '1');
    const acked = Number(await redis.wait(acks.replicas, acks.timeoutMs));
    if (this.connection !== connection) throw new UnacknowledgedClaimError(0, acks.replicas, RECONNECTED);
    if (acked >= acks.replicas) return;
    if (!(await acks.isPrimary())) throw new UnacknowledgedClaimError(acked, acks.replicas);
    // Without enough online replicas no WAIT can succeed: stop waiting for a moment. A replica that
    // comes online is noticed within that moment, before a failover could promote it.
    const online = ((await redis.info('replication')).match(/^slave\d+:.*state=online/gm) ?? []).length;
    if (online < acks.replicas) this.absentUntilMs = this.clock.now() + ACKS_ABSENT_RECHECK_MS;
  }
}
