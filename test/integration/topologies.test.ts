import { describe, expect, it } from 'vitest';
import { DistributedScheduler, RedisTaskStore, silentLogger, Task, Triggers } from '../../src/index.js';
import { claimAcksFor, createRedisClient, parseRedisUrl } from '../../src/sidecar/runtime/redis-url.js';
import { ClusterSetup, SentinelSetup } from '../support/redis-topologies.js';
import { gridFires, Ledger } from '../support/replicas.js';
import { delay } from '../support/wait.js';

async function replicas(url: string, ledger: Ledger, scheduler: string) {
  return Promise.all(
    ['a', 'b'].map(async (id) => {
      const target = parseRedisUrl(url);
      const redis = createRedisClient(target, () => 100);
      redis.on('error', () => {});
      const claimAcks = claimAcksFor(target, redis); // as the sidecar composes it
      const s = new DistributedScheduler(new RedisTaskStore(redis, { scheduler, recoveryWindowMs: 600, ...(claimAcks ? { claimAcks } : {}) }), { logger: silentLogger, replicaId: id, pollIntervalMs: 200, storeTimeoutMs: 1_000 });
      s.register(Triggers.periodOf(new Date(0), undefined, 0.25), new Task('tick', (ctx) => ledger.record(ctx), { deadlineMs: 15_000, overlap: 'allow' }) /* every fire held up by a failover runs */);
      await s.start();
      return { s, redis };
    }),
  );
}

describe('Redis topologies (--redis forms)', () => {
  it('parses the URL forms and refuses others with the allowed forms', () => {
    expect(parseRedisUrl('redis+sentinel://u:p%40ss@h1:26379,h2:26380/mymaster/2')).toEqual({ kind: 'sentinel', nodes: [{ host: 'h1', port: 26379 }, { host: 'h2', port: 26380 }], name: 'mymaster', db: 2, tls: false, username: 'u', password: 'p@ss' });
    expect(parseRedisUrl('rediss+cluster://h:7000,h:7001')).toEqual({ kind: 'cluster', nodes: [{ host: 'h', port: 7000 }, { host: 'h', port: 7001 }], tls: true });
    expect(() => parseRedisUrl('redis+sentinel://h:26379')).toThrow(/names the master/);
    expect(() => parseRedisUrl('http://user:secret@h')).toThrow(/must be one of redis:\/\/.*got "http:\/\/user:\*\*\*@h"/);
  });

  it('Redis Cluster (3 primaries): every fire once across replicas, all keys in one slot', async () => {
    const cluster = await ClusterSetup.start();
    const ledger = new Ledger();
    const rs = await replicas(cluster.url, ledger, 'clustered');
    try {
      const from = Date.now() + 1_000;
      await delay(4_000);
      const to = Date.now() - 500;
      const runs = ledger.runsPerFire('tick');
      expect(gridFires(250, from, to).filter((f) => runs.get(f) !== 1)).toEqual([]);
    } finally {
      await Promise.all(rs.map((r) => r.s.stop()));
      for (const r of rs) r.redis.disconnect();
      await cluster.stop();
    }
  }, 60_000);

  it('Sentinel: fires run once across replicas through a forced failover', async () => {
    const sentinel = await SentinelSetup.start();
    const ledger = new Ledger();
    const rs = await replicas(sentinel.url, ledger, 'sentinelled');
    try {
      const from = Date.now() + 1_500;
      await delay(2_500);
      await sentinel.failover();
      await delay(5_000);
      const to = Date.now() - 1_000;
      const runs = ledger.runsPerFire('tick');
      expect([...runs.values()].filter((n) => n > 1)).toEqual([]);
      const missing = gridFires(250, from, to).filter((f) => !runs.has(f));
      console.log(`sentinel failover: ${gridFires(250, from, to).length} fires, ${missing.length} not run`);
      expect(missing).toEqual([]);
    } finally {
      await Promise.all(rs.map((r) => r.s.stop()));
      for (const r of rs) r.redis.disconnect();
      await sentinel.stop();
    }
  }, 90_000);
});
