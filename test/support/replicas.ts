import { Redis } from 'ioredis';
import {
  DistributedScheduler,
  RedisTaskStore,
  silentLogger,
  type Clock,
  type RedisTaskStoreOptions,
  type SchedulerOptions,
  type TaskRunContext,
} from '../../src/index.js';
import type { RedisServer } from './redis-server.js';

export interface Replica {
  scheduler: DistributedScheduler;
  store: RedisTaskStore;
  redis: Redis;
}

/** Several in-process replicas, each with its own Redis connection, as separate pods would have. */
export class ReplicaSet {
  private readonly replicas: Replica[] = [];

  constructor(
    private readonly server: RedisServer,
    private readonly schedulerName: string,
  ) {}

  create(
    id: string,
    options: { clock?: Clock; scheduler?: SchedulerOptions; store?: RedisTaskStoreOptions; storeClass?: typeof RedisTaskStore } = {},
  ): Replica {
    const redis = new Redis(this.server.port, '127.0.0.1', { maxRetriesPerRequest: 2, retryStrategy: () => 50 });
    redis.on('error', () => {});
    const StoreClass = options.storeClass ?? RedisTaskStore;
    const storeOptions: RedisTaskStoreOptions = { scheduler: this.schedulerName, recoveryWindowMs: 600, ...options.store };
    if (options.clock) storeOptions.clock = options.clock;
    const store = new StoreClass(redis, storeOptions);
    const scheduler = new DistributedScheduler(store, {
      logger: silentLogger,
      replicaId: id,
      pollIntervalMs: 200,
      storeTimeoutMs: 500,
      ...options.scheduler,
    });
    const replica = { scheduler, store, redis };
    this.replicas.push(replica);
    return replica;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.scheduler.stop()));
    for (const r of this.replicas.splice(0)) r.redis.disconnect();
  }
}

export interface LedgerEntry {
  task: string;
  scheduledMs: number;
  replica: string;
  startedMs: number;
  trigger: string;
}

/** What the tasks themselves saw: the ground truth the assertions check. */
export class Ledger {
  readonly entries: LedgerEntry[] = [];

  record(ctx: TaskRunContext): void {
    this.entries.push({ task: ctx.task, scheduledMs: ctx.scheduledAt.getTime(), replica: ctx.replica, startedMs: Date.now(), trigger: ctx.trigger });
  }

  /** Scheduled fires of a task and how many times each ran. */
  runsPerFire(task: string): Map<number, number> {
    const counts = new Map<number, number>();
    for (const e of this.entries) if (e.task === task && e.trigger === 'schedule') counts.set(e.scheduledMs, (counts.get(e.scheduledMs) ?? 0) + 1);
    return counts;
  }
}

/** Fires of a fixed-rate schedule in [fromMs, toMs]. */
export function gridFires(everyMs: number, fromMs: number, toMs: number): number[] {
  const fires: number[] = [];
  for (let t = Math.ceil(fromMs / everyMs) * everyMs; t <= toMs; t += everyMs) fires.push(t);
  return fires;
}
