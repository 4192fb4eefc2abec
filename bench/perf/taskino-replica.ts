// One taskino library replica in its own process: a DistributedScheduler on a RedisTaskStore with
// no-op tasks. Each handler's first line reads the clock; (task, scheduled, start) goes to the parent
// in batches every 500 ms, so reporting does not disturb what is measured.
import { Redis } from 'ioredis';
import { commandCounts } from './command-counter.js';
import { CONFIG_ENV, exitWithParent, taskIndex, toParent, writeFireLine, type LibraryReplicaConfig, type ToChild } from './protocol.js';
import { DistributedScheduler, RedisTaskStore, Task, Triggers, type Logger, type TaskHandler, type TriggerTemplate } from '../../src/index.js';

const config = JSON.parse(process.env[CONFIG_ENV] ?? '{}') as LibraryReplicaConfig;
exitWithParent();

let fires: number[] = [];
const skips: Record<string, number> = {};
const handlers = new Map<string, TaskHandler>();

function handlerOf(name: string): TaskHandler {
  let handler = handlers.get(name);
  if (!handler) {
    const index = taskIndex(name);
    handler = (ctx) => {
      const startedMs = Date.now(); // start lateness as the user's code sees it
      if (config.reportSync) writeFireLine(index, ctx.scheduledAt.getTime(), startedMs);
      else fires.push(index, ctx.scheduledAt.getTime(), startedMs);
    };
    handlers.set(name, handler);
  }
  return handler;
}

function flush(): void {
  if (fires.length === 0 && Object.keys(skips).length === 0) return;
  const data = fires;
  fires = [];
  toParent({ type: 'fires', data, skips: { ...skips } });
  for (const key of Object.keys(skips)) delete skips[key];
}

let logged = 0;
const forward =
  (level: string) =>
  (message: string, fields?: Record<string, unknown>): void => {
    if (logged++ < 20) toParent({ type: 'log', level, message: `${message} ${fields ? JSON.stringify(fields) : ''}` });
  };
const logger: Logger = { debug: () => {}, info: () => {}, warn: forward('warn'), error: forward('error') };

const trigger = (): TriggerTemplate =>
  config.mode === 'loaded' ? Triggers.periodOf(new Date(0), undefined, 1) : Triggers.periodOf(new Date(config.idleStartMs), undefined, 3600);

const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, retryStrategy: (attempt) => Math.min(attempt * 100, 2_000) });
redis.on('error', () => {});
const store = new RedisTaskStore(redis, { scheduler: config.scheduler, recoveryWindowMs: config.recoveryWindowMs });
const scheduler = new DistributedScheduler(store, {
  logger,
  replicaId: config.replicaId,
  shutdownGraceMs: 2_000,
  handlerFor: (definition) => handlerOf(definition.name),
});
const tasks: Array<{ trigger: TriggerTemplate; task: Task }> = [];
for (let i = 0; i < config.tasks; i++) {
  const name = `t-${i}`;
  tasks.push({ trigger: trigger(), task: new Task(name, handlerOf(name)) });
}
for (const { trigger: t, task } of tasks) scheduler.register(t, task);
scheduler.setVersion(1);
scheduler.addListener({
  onReload: (set) => toParent({ type: 'switched', atMs: Date.now(), generation: set.generation }),
  onSkip: (skip) => (skips[skip.reason] = (skips[skip.reason] ?? 0) + skip.count),
});

process.on('message', (message: ToChild) => {
  switch (message.type) {
    case 'counts':
      return toParent({ type: 'counts', id: message.id, ...commandCounts() });
    case 'flush':
      flush();
      return toParent({ type: 'flushed', id: message.id });
    case 'reload': {
      const name = `r-${message.k}`;
      tasks.push({ trigger: Triggers.periodOf(new Date(0), undefined, 1), task: new Task(name, handlerOf(name)) });
      const publishedAtMs = Date.now();
      scheduler.reload(tasks, message.version).then(
        (result) => toParent({ type: 'reloaded', id: message.id, publishedAtMs, accepted: result.accepted, generation: result.set.generation }),
        (error: Error) => toParent({ type: 'error', message: `reload failed: ${error.message}` }),
      );
      return;
    }
    default:
      return;
  }
});

process.on('SIGTERM', () => {
  void scheduler.stop().finally(() => {
    flush();
    redis.disconnect();
    process.exit(0);
  });
});

setInterval(flush, 500).unref();
await scheduler.start();
toParent({ type: 'ready', pid: process.pid });
