// The library quick start (design §7): two tasks on the embedded memory store, or on Redis when
// REDIS_URL is set (start it in several terminals to watch "hello" fire once across them).
import { Redis } from 'ioredis';
import { DistributedScheduler, MemoryTaskStore, RedisTaskStore, Task, Triggers, type Logger } from '../src/index.js';

const logger: Logger = {
  debug: () => {},
  info: (message, fields) => console.log(`info  ${message}`, fields ?? ''),
  warn: (message, fields) => console.log(`warn  ${message}`, fields ?? ''),
  error: (message, fields) => console.log(`error ${message}`, fields ?? ''),
};

const redisUrl = process.env.REDIS_URL;
const redis = redisUrl ? new Redis(redisUrl) : undefined;
if (!redis) logger.warn('REDIS_URL is not set: using the in-memory store (one process only)');
const store = redis ? new RedisTaskStore(redis, { scheduler: 'sample' }) : new MemoryTaskStore();
const scheduler = new DistributedScheduler(store, { logger });

scheduler.register(Triggers.periodOfDelay(1, 5), new Task('hello', () => console.log('hello world')));
scheduler.register(Triggers.onceOfDelay(30), new Task('stopper', () => scheduler.stop(), { concurrent: true }));
scheduler.addListener({
  onComplete(ctx) {
    console.log(`task ${ctx.task} (${ctx.trigger}) for ${ctx.scheduledAt.toISOString()} took ${ctx.costMs} ms: ${ctx.outcome}`);
  },
  onStartup() {
    console.log('scheduler started');
  },
  onStop() {
    console.log('scheduler stopped');
  },
  onReload() {
    console.log('scheduler reloaded');
  },
});
scheduler.setVersion(1);
await scheduler.start();
await scheduler.triggerTask('hello');
await scheduler.waitForever();
redis?.disconnect();
