import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisTaskStore, type ClaimRequest } from '../../src/index.js';
import type { TaskDefinition } from '../../src/core/definitions.js';
import { RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

// Chaos finding: at a Sentinel failover the old primary accepts writes until it is demoted, so a
// replica still connected to it won fires that the new primary gave to another replica (135 fires
// ran twice in a 10-minute mix). Claims now count only once a Redis replica has acknowledged them.
let primary: RedisServer;
let replica: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  primary = await RedisServer.start(['--repl-diskless-sync-delay', '0']);
  replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(primary.port)]);
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await replica.stop();
  await primary.stop();
});

function client(port: number): Redis {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  clients.push(redis);
  return redis;
}

const task: TaskDefinition = { name: 'job', trigger: { kind: 'every', everyMs: 1000, startAtMs: 0 }, scope: 'cluster', overlap: 'allow', deadlineMs: 30_000, timeoutMs: 0, retries: 0 };

async function firstFire(store: RedisTaskStore): Promise<{ request: (instance: string) => ClaimRequest }> {
  const { set } = await store.publish({ version: 1, contentDigest: 'c', anchorMs: store.now() - 5_000, tasks: [task] });
  const published = set.tasks[0]!;
  const scheduledMs = Math.ceil((published.sinceMs + 1) / 1000) * 1000;
  await waitFor(() => store.now() > scheduledMs, { timeoutMs: 3_000, what: 'the fire to be due' });
  return {
    request: (instance) => ({ task: 'job', digest: published.digest, scheduledMs, deadlineMs: 30_000, overlap: 'allow', leaseTtlMs: 60_000, token: `${instance}-token`, instance, paused: false }),
  };
}

describe('claims acknowledged by a Redis replica (claimAcks, as the sidecar sets it for Sentinel)', () => {
  it('on a healthy primary a claim is acknowledged and stands; a primary replaced by a failover cannot give the fire away twice', async () => {
    let sentinelsNamePrimary = true; // what the sentinels would answer
    const asked: string[] = [];
    const acks = (name: string) => ({ replicas: 1, timeoutMs: 100, isPrimary: async () => (asked.push(name), sentinelsNamePrimary) });
    const old = new RedisTaskStore(client(primary.port), { scheduler: 'split', recoveryWindowMs: 0, claimAcks: acks('old') });
    await old.sync();
    await waitFor(async () => (await client(replica.port).get('taskino:{split}:epoch')) !== null, { timeoutMs: 10_000, what: 'the replica to hold the state' });
    const { request } = await firstFire(old);
    await waitFor(async () => (await client(replica.port).hlen('taskino:{split}:defs')) > 0, { timeoutMs: 3_000, what: 'the definitions to replicate' });

    // The failover: the replica is promoted; the old primary has not been demoted yet.
    await client(replica.port).replicaof('NO', 'ONE');
    sentinelsNamePrimary = false;
    const promoted = new RedisTaskStore(client(replica.port), { scheduler: 'split', recoveryWindowMs: 0 });
    await expect(old.claim(request('a'))).rejects.toMatchObject({ code: 'UNACKNOWLEDGED_CLAIM' });
    expect(asked).toEqual(['old']);
    expect(await promoted.claim(request('b'))).toMatchObject({ kind: 'won' });
  });

  it('a primary whose replicas are down keeps claiming (the sentinels still name it primary)', async () => {
    const alone = await RedisServer.start();
    try {
      const store = new RedisTaskStore(client(alone.port), { scheduler: 'alone', recoveryWindowMs: 0, claimAcks: { replicas: 1, timeoutMs: 50, isPrimary: async () => true } });
      await store.sync();
      const { request } = await firstFire(store);
      expect(await store.claim(request('a'))).toMatchObject({ kind: 'won' });
    } finally {
      await alone.stop();
    }
  });

  it("after a failover that lost a run's lease release, the replica releases it again before it heartbeats: the next fire runs", async () => {
    const redisA = client(primary.port);
    const a = new RedisTaskStore(redisA, { scheduler: 'released', recoveryWindowMs: 0 });
    const b = new RedisTaskStore(client(primary.port), { scheduler: 'released', recoveryWindowMs: 0 });
    const released: Array<{ task: string; token: string; endedMs: number }> = [];
    a.setRecoverySource(() => ({ set: undefined, decided: [], pauses: [], leases: [], released }));
    await a.sync({ instance: 'a', intervalMs: 1000, deadAfterMs: 5000 });
    const skipTask = { ...task, overlap: 'skip' as const };
    const { set } = await a.publish({ version: 1, contentDigest: 'c', anchorMs: a.now() - 5_000, tasks: [skipTask] });
    const published = set.tasks[0]!;
    const fire = Math.ceil((published.sinceMs + 1) / 1000) * 1000;
    const claim = (s: RedisTaskStore, instance: string, scheduledMs: number) =>
      s.claim({ task: 'job', digest: published.digest, scheduledMs, deadlineMs: 30_000, overlap: 'skip', leaseTtlMs: 60_000, token: `${instance}-${scheduledMs}`, instance, paused: false });
    await waitFor(() => a.now() > fire, { timeoutMs: 3_000, what: 'the fire to be due' });
    expect((await claim(a, 'a', fire)).kind).toBe('won');
    const endedMs = a.now();
    await a.complete('job', [], `a-${fire}`, endedMs);
    released.push({ task: 'job', token: `a-${fire}`, endedMs });
    // The failover: the promoted server still has the lease, not its release.
    await client(primary.port).set('taskino:{released}:lease:job', `a-${fire}`, 'PX', 60_000);
    await waitFor(() => a.now() > fire + 1000, { timeoutMs: 3_000, what: 'the next fire to be due' });
    const reconnected = new Promise((resolve) => redisA.once('ready', resolve));
    redisA.disconnect(true); // a reconnects, as after a failover
    await reconnected;
    await a.sync({ instance: 'a', intervalMs: 1000, deadAfterMs: 5000 }); // alive after the fire was due
    expect((await claim(b, 'b', fire + 1000)).kind).toBe('won');
  });
});
