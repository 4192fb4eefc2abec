import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisTaskStore, type ClaimResult } from '../../src/index.js';
import type { TaskDefinition } from '../../src/core/definitions.js';
import { RedisServer } from '../support/redis-server.js';
import { delay } from '../support/wait.js';

let server: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server.stop();
});

function store(scheduler: string): RedisTaskStore {
  const redis = new Redis(server.port, '127.0.0.1');
  clients.push(redis);
  return new RedisTaskStore(redis, { scheduler, recoveryWindowMs: 0 });
}

const definition = (name: string, everyMs = 1000): TaskDefinition => ({
  name,
  trigger: { kind: 'every', everyMs, startAtMs: 0 },
  scope: 'cluster',
  overlap: 'allow',
  deadlineMs: 10_000,
  timeoutMs: 0,
  retries: 0,
});

/** Publishes a 1 s task and waits until its first fire after the publication is due. */
async function published(scheduler: string, task = 'job'): Promise<{ s: RedisTaskStore; digest: string; fire: number }> {
  const s = store(scheduler);
  await s.sync();
  const { set } = await s.publish({ version: 1, contentDigest: 'c1', anchorMs: s.now(), tasks: [definition(task)] });
  const fire = Math.ceil(set.tasks[0]!.sinceMs / 1000) * 1000;
  await delay(fire - s.now() + 5);
  return { s, digest: set.tasks[0]!.digest, fire };
}

/** Replica a, heartbeating, has won `fire` of an overlap:skip task, so its run holds the lease. */
async function wonBySkipRun(scheduler: string) {
  const { s, digest, fire } = await published(scheduler);
  const request = { task: 'job', digest, deadlineMs: 10_000, overlap: 'skip' as const, leaseTtlMs: 5000, paused: false };
  const beat = () => s.sync({ instance: 'a', intervalMs: 1000, deadAfterMs: 5000 });
  await beat();
  expect((await s.claim({ ...request, scheduledMs: fire, token: 'a', instance: 'a' })).kind).toBe('won');
  return { s, fire, request, beat };
}

const claim = (s: RedisTaskStore, digest: string, scheduledMs: number, token: string, deadlineMs = 10_000): Promise<ClaimResult> =>
  s.claim({ task: 'job', digest, scheduledMs, deadlineMs, overlap: 'allow', leaseTtlMs: 5000, token, instance: token, paused: false });

describe('claim.lua against a real redis-server', () => {
  it('twenty replicas racing for one fire: exactly one wins, the rest lose', async () => {
    const { digest, fire } = await published('race');
    const racers = Array.from({ length: 20 }, () => store('race'));
    const results = await Promise.all(racers.map((r, i) => claim(r, digest, fire, `t${i}`)));
    expect(results.filter((r) => r.kind === 'won')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'lost')).toHaveLength(19);
  });

  it('a fire decided long ago stays decided: late replicas lose, the winner retrying its own claim wins again', async () => {
    const { s, digest, fire } = await published('late');
    expect((await claim(s, digest, fire, 'winner')).kind).toBe('won');
    // Another replica, however late or skewed, asking for that fire or an older one.
    expect(await claim(s, digest, fire, 'late')).toEqual({ kind: 'lost', decidedMs: fire });
    // A fire from before the definition was published is never run by anyone.
    expect(await claim(s, digest, fire - 5000, 'late')).toEqual({ kind: 'before-definition' });
    // The winner's reply got lost and it asks again with the same token: same answer.
    expect((await claim(s, digest, fire, 'winner')).kind).toBe('won');
  });

  it('judges time on the Redis clock: a fire 30 s ahead is early, one past its deadline is missed once', async () => {
    const { s, digest, fire } = await published('clock');
    const early = await claim(s, digest, fire + 30_000, 'fast-clock');
    expect(early.kind).toBe('early');
    expect(early.kind === 'early' && early.retryInMs).toBeGreaterThan(29_000);
    // With a 1 ms deadline, the fire that is due now is already past it by the time we ask.
    await delay(5);
    expect((await claim(s, digest, fire, 'slow-clock', 1)).kind).toBe('missed');
    expect((await claim(s, digest, fire, 'other', 1)).kind).toBe('lost');
  });

  it('a winner whose reply was lost keeps its fire even after later fires were decided (review finding)', async () => {
    const { s, fire, request, beat } = await wonBySkipRun('lost-reply');
    await delay(fire + 1000 - s.now() + 5);
    await beat(); // a is alive
    // Another replica asks for the next fire: it waits, as nothing shows a's run has started...
    const next = { ...request, scheduledMs: fire + 1000, token: 'b', instance: 'b', deadlineMs: 300 };
    expect((await s.claim(next)).kind).toBe('busy');
    // ...until its deadline passes with a's lease still held: the fire is decided, skipped as an overlap...
    await delay(fire + 1000 + 300 - s.now() + 5);
    expect(await s.claim(next)).toMatchObject({ kind: 'skipped', reason: 'overlap' });
    // ...and a, which never saw its reply, asks again with the same token: the fire is still its own.
    expect((await s.claim({ ...request, scheduledMs: fire, token: 'a', instance: 'a' })).kind).toBe('won');
  });

  it('a lease handed back after a reconnect keeps when its run really started: a fire due before that queues behind the run', async () => {
    const { s, fire, request, beat } = await wonBySkipRun('handback-start');
    await delay(fire + 1000 - s.now() + 5);
    const startedMs = s.now(); // the reply reached a late: its run starts after the next fire was due
    s.setRecoverySource(() => ({ set: undefined, decided: [], pauses: [], leases: [{ task: 'job', token: 'a', ttlMs: 5000, instance: 'a', startedMs }], released: [] }));
    const admin = new Redis(server.port, '127.0.0.1');
    clients.push(admin);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'); // Sentinel does this in a failover
    await beat(); // a reconnects, hands its lease back, and beats
    expect((await s.claim({ ...request, scheduledMs: fire + 1000, token: 'b', instance: 'b' })).kind).toBe('busy');
  });

  it("a lease renewal that arrives after its run's completion does not hold the task again: the next fire runs", async () => {
    const { s, fire, request, beat } = await wonBySkipRun('late-renewal');
    const startedMs = s.now();
    await s.complete('job', [], 'a', s.now(), startedMs); // the run ends and releases its lease...
    expect(await s.renewLease('job', 'a', 5000, 'a', startedMs)).toBe('ended'); // ...before a renewal sent during it arrives
    await delay(fire + 1000 - s.now() + 5);
    await beat();
    expect((await s.claim({ ...request, scheduledMs: fire + 1000, token: 'b', instance: 'b' })).kind).toBe('won');
  });

  it('a retried manual trigger with the same token is not refused as an overlap with itself (review finding)', async () => {
    const { s } = await published('manual-retry');
    const request = { task: 'job', overlap: 'skip' as const, force: false, leaseTtlMs: 5000, token: 'm1', instance: 'a' };
    expect((await s.claimManual(request)).kind).toBe('won');
    expect((await s.claimManual(request)).kind).toBe('won');
    expect((await s.claimManual({ ...request, token: 'm2' })).kind).toBe('skipped');
  });

  it('hands its knowledge back after a reconnect, so a server that lost recent writes cannot re-decide a fire', async () => {
    const { s, digest, fire } = await published('rollback');
    s.setRecoverySource(() => ({ set: undefined, decided: [{ task: 'job', scheduledMs: fire, token: 'a' }], pauses: [], leases: [], released: [] }));
    expect((await claim(s, digest, fire, 'a')).kind).toBe('won');
    const admin = new Redis(server.port, '127.0.0.1');
    clients.push(admin);
    await admin.del('taskino:{rollback}:t:job'); // as if restored from an older snapshot
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await s.sync();
    expect(await admin.hget('taskino:{rollback}:t:job', 'fire')).toBe(String(fire));
    expect((await claim(store('rollback'), digest, fire, 'other')).kind).toBe('lost');
  });

  it('a replica holding an older definition cannot claim fires of the new one', async () => {
    const { s, digest, fire } = await published('versions');
    await s.publish({ version: 2, contentDigest: 'c2', anchorMs: s.now(), tasks: [definition('job', 2000)] });
    expect((await claim(s, digest, fire, 'old')).kind).toBe('stale');
  });

  it('a lower or equal version never replaces the stored set; same version with other content is a conflict', async () => {
    const s = store('publish');
    await s.sync();
    expect((await s.publish({ version: 2, contentDigest: 'a', anchorMs: s.now(), tasks: [definition('job')] })).accepted).toBe(true);
    const older = await s.publish({ version: 1, contentDigest: 'b', anchorMs: s.now(), tasks: [definition('other')] });
    expect([older.accepted, older.set.version, older.set.tasks.map((t) => t.definition.name)]).toEqual([false, 2, ['job']]);
    const clash = await s.publish({ version: 2, contentDigest: 'c', anchorMs: s.now(), tasks: [definition('other')] });
    expect([clash.accepted, clash.conflict]).toEqual([false, true]);
    const newer = await s.publish({ version: 3, contentDigest: 'd', anchorMs: s.now(), tasks: [definition('job'), definition('other')] });
    expect([newer.accepted, newer.set.generation]).toEqual([true, 2]);
    // An unchanged task keeps its "since": its schedule continues across the new version.
    expect(newer.set.tasks[0]!.sinceMs).toBe(older.set.tasks[0]!.sinceMs);
  });

  it('calls scripts by EVALSHA and reloads them after SCRIPT FLUSH (NOSCRIPT fallback)', async () => {
    const { s, digest, fire } = await published('noscript');
    const admin = new Redis(server.port, '127.0.0.1');
    clients.push(admin);
    await admin.script('FLUSH');
    expect((await claim(s, digest, fire, 'after-flush')).kind).toBe('won');
    const stats = await admin.info('commandstats');
    expect(stats).toMatch(/cmdstat_evalsha:calls=\d+/);
  });
});
