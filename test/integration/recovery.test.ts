import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Task, Triggers, UnknownTaskError, type SkipContext } from '../../src/index.js';
import { RedisServer } from '../support/redis-server.js';
import { readLedger, ReplicaProcess } from '../support/replica-process.js';
import { gridFires, Ledger, ReplicaSet } from '../support/replicas.js';
import { delay, waitFor } from '../support/wait.js';

let server: RedisServer;
let replicas: ReplicaSet;
let seq = 0;
const processes: ReplicaProcess[] = [];
beforeAll(async () => {
  server = await RedisServer.start();
});
afterEach(async () => {
  await replicas.stopAll();
  await Promise.all(processes.splice(0).map((p) => p.kill()));
});
afterAll(async () => {
  await server.stop();
});
function fresh(): { set: ReplicaSet; name: string } {
  const name = `r${++seq}`;
  replicas = new ReplicaSet(server, name);
  return { set: replicas, name };
}
const every = (ms: number) => Triggers.periodOf(new Date(0), undefined, ms / 1000);

describe('recovery', () => {
  it('a manual trigger while Redis recovers its state runs once the window ends; one for a task removed meanwhile is refused', async () => {
    const { set } = fresh();
    const r = set.create('a', { store: { recoveryWindowMs: 1_500 } });
    const ran: string[] = [];
    const hourly = every(3_600_000);
    r.scheduler.register(hourly, new Task('job', () => void ran.push('job')));
    r.scheduler.register(hourly, new Task('other', () => void ran.push('other')));
    await r.scheduler.start();

    await server.restart(); // Redis comes back empty: the next call starts a recovery window
    const job = r.scheduler.triggerTask('job');
    const other = r.scheduler.triggerTask('other');
    const otherRefused = expect(other).rejects.toBeInstanceOf(UnknownTaskError);
    await delay(300);
    expect(ran).toEqual([]); // nothing runs while the replicas hand back what they know
    await r.scheduler.reload([{ trigger: hourly, task: new Task('job', () => void ran.push('job')) }], 2);
    expect(await job).toMatchObject({ ran: true });
    await otherRefused;
    expect(ran).toEqual(['job']);
  });

  it('a fire won before Redis lost its state cannot be won again: the winner hands it back during the recovery window', async () => {
    const { name } = fresh();
    const a = replicas.create('a', { store: { recoveryWindowMs: 500 } }).store;
    await a.sync();
    await delay(550);
    const { set } = await a.publish({ version: 1, contentDigest: 'c', anchorMs: a.now(), tasks: [{ name: 'job', trigger: { kind: 'every', everyMs: 1000, startAtMs: 0 }, scope: 'cluster', overlap: 'allow', deadlineMs: 30_000, timeoutMs: 0, retries: 0 }] });
    const digest = set.tasks[0]!.digest;
    const fire = Math.ceil(set.tasks[0]!.sinceMs / 1000) * 1000;
    await delay(fire - a.now() + 5);
    const request = { task: 'job', digest, scheduledMs: fire, deadlineMs: 30_000, overlap: 'allow' as const, leaseTtlMs: 5000, paused: false };
    expect((await a.claim({ ...request, token: 'a', instance: 'a' })).kind).toBe('won');
    a.setRecoverySource(() => ({ set, decided: [{ task: 'job', scheduledMs: fire, token: 'a' }], pauses: [], leases: [], released: [] }));

    await server.restart(); // the watermark of "job" is gone
    const b = replicas.create('b', { store: { recoveryWindowMs: 500 } }).store;
    b.setRecoverySource(() => ({ set, decided: [], pauses: [], leases: [], released: [] })); // b never saw the fire decided
    await waitFor(async () => (await b.sync().then(() => true, () => false)), { timeoutMs: 5_000, what: 'b to reach the restarted Redis' });
    const during = await b.claim({ ...request, token: 'b', instance: 'b' });
    expect(during.kind).toBe('recovering');
    await waitFor(async () => (await a.sync().then(() => true, () => false)), { timeoutMs: 5_000, what: 'a to notice the new epoch' });
    await delay(during.kind === 'recovering' ? during.retryInMs + 10 : 0);
    expect(await b.claim({ ...request, token: 'b', instance: 'b' })).toEqual({ kind: 'lost', decidedMs: fire });
    expect(name).toBeTruthy();
  });

  it('Redis restarted empty mid-run: no fire doubled or lost, definitions and pauses restored', async () => {
    const { set, name } = fresh();
    const ledger = new Ledger();
    const rs = ['a', 'b', 'c'].map((id) => {
      const r = set.create(id, { store: { recoveryWindowMs: 800 } });
      r.scheduler.register(every(250), new Task('tick', (ctx) => ledger.record(ctx), { deadlineMs: 10_000, overlap: 'allow' })); // every fire of the window runs after it
      r.scheduler.register(every(250), new Task('held', (ctx) => ledger.record(ctx)));
      r.scheduler.setVersion(7);
      return r;
    });
    for (const r of rs) await r.scheduler.start();
    await rs[0]!.scheduler.pause('held');
    const windowStart = Date.now() + 300;
    await delay(1_500);
    await server.restart(); // all state gone: watermarks, definitions, pauses
    await delay(3_000);
    const windowEnd = Date.now() - 500;
    await set.stopAll();

    const runs = ledger.runsPerFire('tick');
    const fires = gridFires(250, windowStart, windowEnd);
    expect(fires.length).toBeGreaterThan(12);
    expect({ missing: fires.filter((f) => !runs.has(f)), doubled: [...runs].filter(([, n]) => n > 1) }).toEqual({ missing: [], doubled: [] });
    const admin = server.client();
    expect(await admin.hget(`taskino:{${name}}:defs`, 'version')).toBe('7');
    expect(await admin.hget(`taskino:{${name}}:pause`, 'held')).toMatch(/^1:/);
    expect(ledger.entries.filter((e) => e.task === 'held' && e.startedMs > windowStart + 300)).toEqual([]);
    admin.disconnect();
  });

  it('after every replica was down, the first back runs the latest fire within its deadline and records the older ones as missed', async () => {
    const { set } = fresh();
    const ledger = new Ledger();
    const first = set.create('first');
    first.scheduler.register(every(500), new Task('tick', (ctx) => ledger.record(ctx), { deadlineMs: 700 }));
    await first.scheduler.start();
    await waitFor(() => ledger.entries.length >= 2, { timeoutMs: 3_000, what: 'two runs' });
    await first.scheduler.stop();
    const lastRun = Math.max(...ledger.entries.map((e) => e.scheduledMs));
    await delay(2_600); // every replica down across 5 fires

    const skips: SkipContext[] = [];
    const back = set.create('back');
    back.scheduler.register(every(500), new Task('tick', (ctx) => ledger.record(ctx), { deadlineMs: 700 }));
    back.scheduler.addListener({ onSkip: (s) => void skips.push(s) });
    const backAt = Date.now();
    await back.scheduler.start();
    await waitFor(() => ledger.entries.some((e) => e.replica === 'back'), { timeoutMs: 3_000, what: 'the returning replica to run' });
    const firstBack = ledger.entries.find((e) => e.replica === 'back')!;
    // It ran the latest fire still inside its deadline, not the oldest missed one.
    expect(firstBack.scheduledMs).toBeGreaterThanOrEqual(backAt - 700);
    const expectedMissed = gridFires(500, lastRun + 1, firstBack.scheduledMs - 1);
    expect(expectedMissed.length).toBeGreaterThanOrEqual(4);
    expect(skips.filter((s) => s.reason === 'missed').reduce((n, s) => n + s.count, 0)).toBe(expectedMissed.length);
    const history = await back.scheduler.history('tick', 100);
    expect(history.filter((h) => h.outcome === 'missed').map((h) => Date.parse(h.scheduledAt)).sort()).toEqual(expectedMissed);
  });

  it('overlap skip: no fire starts while a run holds the lease; when its replica is SIGKILLed the lease expires and the task runs again', async () => {
    const { name } = fresh();
    // Open the store's epoch (and sit out its recovery window) first, so the holder's run starts on time.
    const warm = replicas.create('warm', { store: { recoveryWindowMs: 300 } });
    await warm.store.sync();
    await delay(350);
    const ledgerPath = join(mkdtempSync(join(tmpdir(), 'taskino-')), 'ledger.jsonl');
    const holder = await ReplicaProcess.start({
      redisUrl: server.url,
      scheduler: name,
      replicaId: 'holder',
      ledger: ledgerPath,
      leaseTtlMs: 1_500,
      tasks: [{ name: 'long', everyMs: 500, runMs: 60_000, deadlineMs: 10_000 }],
    });
    processes.push(holder);
    await waitFor(() => readLedger(ledgerPath).some((l) => l.event === 'start'), { timeoutMs: 5_000, what: 'the long run to start' });

    const ledger = new Ledger();
    const other = replicas.create('other', { scheduler: { leaseTtlMs: 1_500 } });
    other.scheduler.register(every(500), new Task('long', (ctx) => ledger.record(ctx), { deadlineMs: 10_000 }));
    other.scheduler.setVersion(1);
    await other.scheduler.start();
    // Whichever replica asks first decides each fire: skipped for overlap, cluster-wide.
    const admin = server.client();
    const decided = new Set<string>();
    await waitFor(
      async () => {
        const state = await admin.hmget(`taskino:{${name}}:t:long`, 'fire', 'outcome');
        if (state[1] === 'overlap') decided.add(state[0]!);
        return decided.size >= 4;
      },
      { timeoutMs: 5_000, what: 'four fires skipped for overlap' },
    );
    admin.disconnect();
    expect(ledger.entries).toEqual([]);
    // The holder renewed its lease past its 1.5 s TTL all this time.
    expect(readLedger(ledgerPath).filter((l) => l.event === 'start')).toHaveLength(1);

    const killedAt = Date.now();
    await holder.kill('SIGKILL');
    await waitFor(() => ledger.entries.length > 0, { timeoutMs: 5_000, what: 'the task to run after the lease expired' });
    const resumedAfter = ledger.entries[0]!.startedMs - killedAt;
    expect(resumedAfter).toBeGreaterThan(0);
    expect(resumedAfter).toBeLessThan(1_500 + 500 + 500); // TTL + one period + slack
  });
});
