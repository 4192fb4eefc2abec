import { afterAll, beforeAll } from 'vitest';
import { Redis } from 'ioredis';
import { DistributedScheduler, RedisTaskStore, silentLogger, type RedisTaskStoreOptions, type SchedulerOptions } from '../../src/index.js';
import { RedisServer } from './redis-server.js';

export interface RedisReplica {
  s: DistributedScheduler;
  redis: Redis;
}

/**
 * A private redis-server for one test file, started before its tests and stopped after them, with
 * the clients and schedulers the tests open on it (stopped and disconnected after them too).
 */
export function privateRedis() {
  let server: RedisServer | undefined;
  const clients: Redis[] = [];
  const schedulers: DistributedScheduler[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const s of schedulers) await s.stop().catch(() => {});
    for (const c of clients) c.disconnect();
    await server?.stop();
  });

  /** A client that fails a command after one retry instead of queueing it while Redis is away. */
  const client = (): Redis => {
    if (!server) throw new Error('privateRedis: the server starts in beforeAll');
    const redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };

  return {
    /** The server itself, for tests that pause, kill or restart it. */
    get server(): RedisServer {
      if (!server) throw new Error('privateRedis: the server starts in beforeAll');
      return server;
    },
    client,
    /** A scheduler on a client of its own, not yet started. */
    replica(id: string, store: RedisTaskStoreOptions, options: SchedulerOptions = {}): RedisReplica {
      const redis = client();
      const s = new DistributedScheduler(new RedisTaskStore(redis, store), { logger: silentLogger, replicaId: id, ...options });
      schedulers.push(s);
      return { s, redis };
    },
  };
}
