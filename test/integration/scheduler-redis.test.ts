import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisTaskStore, skewedClock, Task, Triggers, type SkipContext } from '../../src/index.js';
import { RedisServer } from '../support/redis-server.js';
import { gridFires, Ledger, ReplicaSet } from '../support/replicas.js';
import { delay, waitFor } from '../support/wait.js';

let server: RedisServer;
let replicas: ReplicaSet;
let schedulerSeq = 0;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterEach(async () => {
  await replicas.stopAll();
});
afterAll(async () => {
  await server.stop();
});
function freshReplicas(): ReplicaSet {
  replicas = new ReplicaSet(server, `s${++schedulerSeq}`);
  return replicas;
}
const every = (ms: number) => Triggers.periodOf(new Date(0), undefined, ms / 1000);

describe('DistributedScheduler on a real Redis', () => {
  it('runs each fire once with clocks skewed by -30 s, 0 and +30 s and a replica started 6 s late', async () => {
    const set = freshReplicas();
    const ledger = new Ledger();
    const lateness: number[] = [];
    // Enough tasks that every replica is the home of some (a miss has odds 3 x (2/3)^24, under 1 in 5000).
    const tasks = Array.from({ length: 24 }, (_, i) => `tick-${i}`);
    const make = (id: string, skewMs: number) => {
      const r = set.create(id, { clock: skewedClock(skewMs) });
      for (const name of tasks) r.scheduler.register(every(250), new Task(name, (ctx) => ledger.record(ctx)));
      r.scheduler.addListener({ onComplete: (c) => void lateness.push(c.latenessMs) });
      return r;
    };
    const behind = make('behind', -30_000);
    const exact = make('exact', 0);
    await behind.scheduler.start();
    await exact.scheduler.start();
    const windowStart = Date.now() + 1_000;
    await delay(6_000); // the original's 5 s lock let a replica started this late run fires again
    const ahead = make('ahead', +30_000);
    await ahead.scheduler.start();
    await delay(2_000);
    const windowEnd = Date.now() - 1_000;
    await set.stopAll();

    const expected = gridFires(250, windowStart, windowEnd);
    expect(expected.length).toBeGreaterThan(20);
    for (const name of tasks) {
      const runs = ledger.runsPerFire(name);
      expect({ name, notOnce: expected.filter((f) => runs.get(f) !== 1) }).toEqual({ name, notOnce: [] });
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
    }
    // Each skewed clock really ran fires: the late starter included, once it became a home.
    expect(new Set(ledger.entries.map((e) => e.replica))).toEqual(new Set(['behind', 'exact', 'ahead']));
    // Offsets are measured against Redis TIME; no run starts before its time on the Redis clock.
    expect(Math.abs(behind.store.clockOffsetMs() + 30_000)).toBeLessThan(50);
    expect(Math.abs(ahead.store.clockOffsetMs() - 30_000)).toBeLessThan(50);
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(-5);
    // And the wall clock agrees: a run never started before its scheduled time.
    expect(Math.min(...ledger.entries.map((e) => e.startedMs - e.scheduledMs))).toBeGreaterThanOrEqual(-5);
  });

  it('promise 2: overlap allow loses no fire when Redis stops answering for less than the deadline, not even the first one of the outage', async () => {
    const set = freshReplicas();
    const ledger = new Ledger();
    for (const id of ['a', 'b']) {
      const r = set.create(id);
      r.scheduler.register(every(200), new Task('tick', (ctx) => ledger.record(ctx), { deadlineMs: 8_000, overlap: 'allow' }));
      await r.scheduler.start();
    }
    await delay(600);
    const windowStart = Date.now();
    server.pause(); // SIGSTOP: connections hang, nothing answers
    await delay(2_500);
    server.resume();
    const windowEnd = Date.now();
    await waitFor(() => ledger.runsPerFire('tick').has(gridFires(200, windowStart, windowEnd).at(-1)!), {
      timeoutMs: 8_000,
      what: 'the fires during the outage to run',
    });
    await delay(300);
    const runs = ledger.runsPerFire('tick');
    // The first fire of the outage was decided for its home by a claim whose reply came after the
    // claim had timed out; sent again, it read 'lost' behind the later fires the other replica won.
    expect(gridFires(200, windowStart, windowEnd).filter((f) => runs.get(f) !== 1)).toEqual([]);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });

  it('promise 2: no fire is recorded missed when Redis stops answering for less than the deadline; with overlap skip the latest fire of the outage runs, then every fire once', async () => {
    const set = freshReplicas();
    const ledger = new Ledger();
    const missed: number[] = [];
    for (const id of ['a', 'b']) {
      const r = set.create(id);
      r.scheduler.register(every(200), new Task('tick', (ctx) => ledger.record(ctx), { deadlineMs: 8_000 }));
      r.scheduler.addListener({ onSkip: (c) => void (c.reason === 'missed' && missed.push(c.count)) });
      await r.scheduler.start();
    }
    await delay(600);
    const windowStart = Date.now();
    server.pause(); // SIGSTOP: connections hang, nothing answers
    await delay(2_500);
    server.resume();
    const windowEnd = Date.now();
    await delay(2_000);
    const runs = ledger.runsPerFire('tick');
    const during = gridFires(200, windowStart + 200, windowEnd - 200);
    expect(during.filter((f) => runs.has(f)).length).toBeLessThanOrEqual(1); // coalesced: only the latest due one
    const after = gridFires(200, windowEnd + 600, Date.now() - 300);
    expect(after.filter((f) => runs.get(f) !== 1)).toEqual([]);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(missed).toEqual([]);
  });

  it('switches every replica to a newer definition set within 2 s, cancels the old timers, and never goes back', async () => {
    const set = freshReplicas();
    const ledger = new Ledger();
    const a = set.create('a');
    a.scheduler.register(every(300), new Task('job', (ctx) => ledger.record(ctx))).setVersion(1);
    await a.scheduler.start();
    let reloadedAt = 0;
    a.scheduler.addListener({ onReload: () => (reloadedAt = Date.now()) });
    await delay(700);

    const b = set.create('b');
    b.scheduler.register(every(700), new Task('job', (ctx) => ledger.record(ctx))).setVersion(2);
    const publishedAt = Date.now();
    await b.scheduler.start();
    await waitFor(() => reloadedAt > 0, { timeoutMs: 2_000, what: 'replica a to reload' });
    expect(reloadedAt - publishedAt).toBeLessThan(2_000);
    const switched = Date.now();
    await delay(2_000);
    // After the switch only the new 700 ms grid fires, on either replica.
    const after = ledger.entries.filter((e) => e.scheduledMs > switched);
    expect(after.length).toBeGreaterThanOrEqual(2);
    expect(after.every((e) => e.scheduledMs % 700 === 0)).toBe(true);

    const c = set.create('c');
    c.scheduler.register(every(300), new Task('job', (ctx) => ledger.record(ctx))).setVersion(1);
    await c.scheduler.start();
    expect(c.scheduler.definitions()?.version).toBe(2);
    expect(a.scheduler.definitions()?.version).toBe(2);
    expect(await a.redis.hget(`taskino:{${`s${schedulerSeq}`}}:defs`, 'version')).toBe('2');
  });

  it('reaches a replica that misses the pub/sub notice through the heartbeat, within 2 s', async () => {
    class DeafStore extends RedisTaskStore {
      override onEvent(): () => void {
        return () => {};
      }
    }
    const set = freshReplicas();
    const deaf = set.create('deaf', { storeClass: DeafStore, scheduler: { pollIntervalMs: 1_000 } });
    deaf.scheduler.register(every(1000), new Task('job', () => {})).setVersion(1);
    await deaf.scheduler.start();
    let reloadedAt = 0;
    deaf.scheduler.addListener({ onReload: () => (reloadedAt = Date.now()) });
    const other = set.create('other');
    other.scheduler.register(every(500), new Task('job', () => {})).setVersion(2);
    const publishedAt = Date.now();
    await other.scheduler.start();
    await waitFor(() => reloadedAt > 0, { timeoutMs: 2_000, what: 'the deaf replica to reload' });
    expect(reloadedAt - publishedAt).toBeLessThanOrEqual(2_000);
  });

  it('pauses and resumes cluster-wide; paused fires count as skipped; the pause outlives the replica', async () => {
    const set = freshReplicas();
    const ledger = new Ledger();
    const skips: SkipContext[] = [];
    const make = (id: string) => {
      const r = set.create(id);
      r.scheduler.register(every(200), new Task('job', (ctx) => ledger.record(ctx)));
      r.scheduler.addListener({ onSkip: (s) => void skips.push(s) });
      return r;
    };
    const a = make('a');
    const b = make('b');
    await a.scheduler.start();
    await b.scheduler.start();
    await a.scheduler.pause('job');
    await delay(300); // let the pause reach b
    const pausedAt = Date.now();
    await delay(1_000);
    expect(ledger.entries.filter((e) => e.startedMs > pausedAt)).toEqual([]);
    expect(skips.filter((s) => s.reason === 'paused').length).toBeGreaterThanOrEqual(4);

    const fresh = make('fresh');
    await fresh.scheduler.start();
    await waitFor(() => fresh.scheduler.tasks()[0]?.paused === true, { timeoutMs: 2_000, what: 'the new replica to see the pause' });

    await b.scheduler.resume('job');
    const resumedAt = Date.now();
    await waitFor(() => ledger.entries.some((e) => e.startedMs > resumedAt), { timeoutMs: 2_000, what: 'a run after resume' });
  });

  it('keeps the last 100 runs of a task as history, newest first', async () => {
    const set = freshReplicas();
    const r = set.create('a');
    r.scheduler.register(Triggers.cronOf('0 0 1 1 *'), new Task('manual', () => ({ status: 204 })));
    await r.scheduler.start();
    for (let i = 0; i < 105; i++) await r.scheduler.triggerTask('manual');
    const history = await r.scheduler.history('manual', 500);
    expect(history).toHaveLength(100);
    expect(history[0]).toMatchObject({ task: 'manual', outcome: 'success', trigger: 'manual', replica: 'a', attempts: 1, status: 204 });
    expect(Date.parse(history[0]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(history[99]!.startedAt!));
    expect(await r.store.lastSuccessMs('manual')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('runs pod-scope tasks on every replica without claiming them', async () => {
    const set = freshReplicas();
    const ledger = new Ledger();
    for (const id of ['a', 'b', 'c']) {
      const r = set.create(id);
      r.scheduler.register(every(200), new Task('local', (ctx) => ledger.record(ctx), { concurrent: true }));
      await r.scheduler.start();
    }
    const from = Date.now() + 200;
    await delay(1_500);
    const to = Date.now() - 300;
    const runs = ledger.runsPerFire('local');
    const fires = gridFires(200, from, to);
    expect(fires.filter((f) => runs.get(f) !== 3)).toEqual([]);
    expect(await server.client().hget(`taskino:{s${schedulerSeq}}:t:local`, "fire")).toBeNull(); // no claim was made
  });

  it('spreads tasks over their home replicas, and fires due together are claimed in one round trip per replica', async () => {
    const set = freshReplicas();
    const ledger = new Ledger();
    const admin = server.client();
    for (const id of ['a', 'b', 'c']) {
      const r = set.create(id);
      for (let i = 0; i < 30; i++) r.scheduler.register(every(500), new Task(`t${i}`, (ctx) => ledger.record(ctx)));
      await r.scheduler.start();
    }
    await delay(1_200); // every replica has heard the others' heartbeats
    const stats = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const from = Date.now() + 100;
    const callsBefore = await stats();
    await delay(2_000);
    const to = Date.now() - 300;
    const calls = (await stats()) - callsBefore;
    const inWindow = ledger.entries.filter((e) => e.scheduledMs >= from && e.scheduledMs <= to);
    const fires = gridFires(500, from, to);
    expect(inWindow).toHaveLength(fires.length * 30);
    // Each task stayed on its home: one replica ran all its fires. Each replica is home to some.
    const ranOn = new Map<string, Set<string>>();
    for (const e of inWindow) ranOn.set(e.task, (ranOn.get(e.task) ?? new Set()).add(e.replica));
    expect([...ranOn.values()].filter((replicas) => replicas.size !== 1)).toEqual([]);
    expect(new Set(inWindow.map((e) => e.replica))).toEqual(new Set(['a', 'b', 'c']));
    // 30 fires every 500 ms cost each replica a claim call, then its completions and a heartbeat;
    // claimed one by one they would cost 3 x 30 claims.
    expect(calls / inWindow.length).toBeLessThan(1);
  });
});
