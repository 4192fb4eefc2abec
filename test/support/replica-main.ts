// A scheduler replica as its own process, for tests and the soak run that kill it with SIGKILL.
// Config comes as JSON in TASKINO_REPLICA_CONFIG; every run start and end is appended to a ledger
// file (one per process, so a killed process cannot tear another's lines).
import { appendFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { DistributedScheduler, RedisTaskStore, silentLogger, Task, Triggers } from '../../src/index.js';

export interface ReplicaConfig {
  redisUrl: string;
  scheduler: string;
  replicaId: string;
  ledger: string;
  version?: number;
  leaseTtlMs?: number;
  pollIntervalMs?: number;
  recoveryWindowMs?: number;
  tasks: Array<{ name: string; everyMs: number; deadlineMs?: number; runMs?: number; concurrent?: boolean; overlap?: 'skip' | 'allow' }>;
}

export interface LedgerLine {
  event: 'start' | 'end';
  task: string;
  scheduledMs: number;
  replica: string;
  atMs: number;
  trigger: string;
}

const config = JSON.parse(process.env.TASKINO_REPLICA_CONFIG ?? '{}') as ReplicaConfig;
const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, retryStrategy: () => 100 });
redis.on('error', () => {});
const store = new RedisTaskStore(redis, { scheduler: config.scheduler, recoveryWindowMs: config.recoveryWindowMs ?? 1_500 });
const scheduler = new DistributedScheduler(store, {
  logger: silentLogger,
  replicaId: config.replicaId,
  leaseTtlMs: config.leaseTtlMs ?? 3_000,
  pollIntervalMs: config.pollIntervalMs ?? 250,
  storeTimeoutMs: 1_000,
});
const write = (line: LedgerLine): void => appendFileSync(config.ledger, `${JSON.stringify(line)}\n`);

for (const t of config.tasks) {
  const task = new Task(
    t.name,
    async (ctx) => {
      write({ event: 'start', task: t.name, scheduledMs: ctx.scheduledAt.getTime(), replica: config.replicaId, atMs: Date.now(), trigger: ctx.trigger });
      if (t.runMs) await new Promise((r) => setTimeout(r, t.runMs));
      write({ event: 'end', task: t.name, scheduledMs: ctx.scheduledAt.getTime(), replica: config.replicaId, atMs: Date.now(), trigger: ctx.trigger });
    },
    { deadlineMs: t.deadlineMs ?? 10_000, concurrent: t.concurrent ?? false, overlap: t.overlap ?? 'skip' },
  );
  // Anchored at the epoch, so every process computes the same grid without publishing first.
  scheduler.register(Triggers.periodOf(new Date(0), undefined, t.everyMs / 1000), task);
}
scheduler.setVersion(config.version ?? 1);
process.on('SIGTERM', () => {
  void scheduler.stop().then(() => {
    redis.disconnect();
    process.exit(0);
  });
});
await scheduler.start();
process.stdout.write('ready\n');
