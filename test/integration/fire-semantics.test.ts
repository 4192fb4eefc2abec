import { describe, expect, it } from 'vitest';
import {
  RedisTaskStore,
  Task,
  Triggers,
  type DistributedScheduler,
  type Logger,
  type RedisTaskStoreOptions,
  type SchedulerOptions,
  type TaskRunContext,
} from '../../src/index.js';
import { privateRedis } from '../support/private-redis.js';
import { delay, waitFor } from '../support/wait.js';

// The fire semantics of docs/guarantees.md that issue 15 found broken: overlap skip never queues, a
// brand-new store fires on time, a paused fire is never missed, each manual run has its own key,
// and one task's unreadable Redis state costs no other task a fire. Judged from what the tasks ran.
const redis = privateRedis();
const client = () => redis.client();

function replica(id: string, store: RedisTaskStoreOptions, options: SchedulerOptions = {}): DistributedScheduler {
  return redis.replica(id, store, { pollIntervalMs: 200, storeTimeoutMs: 500, ...options }).s;
}

interface Run {
  task: string;
  scheduledMs: number;
  startedMs: number;
  key: string;
}

function recorder(runs: Run[], workMs = 0) {
  return async (ctx: TaskRunContext) => {
    runs.push({ task: ctx.task, scheduledMs: ctx.scheduledAt.getTime(), startedMs: Date.now(), key: ctx.idempotencyKey });
    if (workMs > 0) await delay(workMs);
  };
}

/** A logger that keeps what it was told. */
function capturingLogger(lines: Array<{ level: string; message: string; fields: Record<string, unknown> }>): Logger {
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push({ level, message, fields });
  return { debug: () => {}, info: at('info'), warn: at('warn'), error: at('error') };
}

const every = (seconds: number) => Triggers.periodOf(new Date(0), undefined, seconds);

describe('promise 4: overlap skip never queues', () => {
  it('after a Redis outage, a task slower than its period runs only the latest due fire, then stays on time run after run', async () => {
    const runs: Run[] = [];
    const skipped: number[] = [];
    for (const id of ['a', 'b']) {
      const s = replica(id, { scheduler: 'no-queue', recoveryWindowMs: 300 });
      // 1.5 s of work every second: every other fire overlaps the run before it.
      s.register(every(1), new Task('slow', recorder(runs, 1_500), { deadlineMs: 20_000 }));
      s.addListener({ onSkip: (c) => void (c.reason === 'overlap' && skipped.push(c.scheduledAt.getTime())) });
      await s.start();
    }
    await waitFor(() => runs.length >= 1, { timeoutMs: 5_000, what: 'a first run' });
    redis.server.pause(); // every fire due now waits for Redis
    const pausedAt = Date.now();
    await delay(3_500);
    redis.server.resume();
    const resumedAt = Date.now();
    await delay(9_000);

    const during = runs.filter((r) => r.scheduledMs > pausedAt && r.scheduledMs <= resumedAt);
    expect(during.length).toBeLessThanOrEqual(1); // only the latest fire due at the outage's end
    expect(skipped.filter((ms) => ms > pausedAt && ms < resumedAt - 1_000).length).toBeGreaterThanOrEqual(2);
    // Afterwards each run starts on time: lateness does not grow run after run (it grew 0.5 s a run).
    const later = runs.filter((r) => r.scheduledMs > resumedAt + 1_000);
    expect(later.length).toBeGreaterThanOrEqual(3);
    expect(later.map((r) => r.startedMs - r.scheduledMs).filter((late) => late > 600)).toEqual([]);
    // Never two runs at once.
    const byStart = [...runs].sort((x, y) => x.startedMs - y.startedMs);
    for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.startedMs - byStart[i - 1]!.startedMs).toBeGreaterThanOrEqual(1_450);
  }, 30_000);
});

describe('promise 5: a brand-new scheduler has nothing to recover', () => {
  it('on an empty Redis the first fires run on time and a manual trigger does not wait for a recovery window', async () => {
    const runs: Run[] = [];
    const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
    const started: DistributedScheduler[] = [];
    for (const id of ['a', 'b', 'c']) {
      // The default 5 s window: on a store that lost its state it still applies.
      const s = replica(id, { scheduler: 'brand-new' }, { logger: capturingLogger(lines) });
      s.register(every(0.25), new Task('tick', recorder(runs)));
      started.push(s);
    }
    await Promise.all(started.map((s) => s.start()));
    const triggeredAt = Date.now();
    const manual = await started[0]!.triggerTask('tick');
    expect(manual.ran).toBe(true);
    expect(Date.now() - triggeredAt).toBeLessThan(2_000); // was about 5 s: the window of a restart
    await waitFor(() => runs.filter((r) => r.key.indexOf('/manual-') < 0).length >= 3, { timeoutMs: 3_000, what: 'three scheduled runs' });
    const first = runs.filter((r) => !r.key.includes('/manual-')).slice(0, 3);
    expect(first.map((r) => r.startedMs - r.scheduledMs).filter((late) => late > 1_000)).toEqual([]); // was 3-5 s
    expect(lines.filter((l) => l.message.startsWith('the store lost its state'))).toEqual([]);
  }, 20_000);

  it('when Redis restarts empty under a running scheduler, the window opens and the log says why', async () => {
    const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
    const s = replica('a', { scheduler: 'restarted', recoveryWindowMs: 1_000 }, { logger: capturingLogger(lines) });
    const runs: Run[] = [];
    s.register(every(0.25), new Task('tick', recorder(runs)));
    await s.start();
    await waitFor(() => runs.length >= 2, { timeoutMs: 3_000, what: 'runs before the restart' });
    await client().del('taskino:{restarted}:epoch'); // what a restart without persistence leaves
    const lostAt = Date.now();
    await waitFor(() => lines.some((l) => l.message.startsWith('the store lost its state')), { timeoutMs: 3_000, what: 'the warning' });
    expect(lines.find((l) => l.message.startsWith('the store lost its state'))?.fields).toMatchObject({ recoveryWindowMs: 1_000 });
    const ranInWindow = runs.filter((r) => r.startedMs > lostAt + 400 && r.startedMs < lostAt + 900);
    expect(ranInWindow).toEqual([]);
  }, 20_000);
});

describe('pause: a paused fire is skipped as paused, never missed', () => {
  const historyOf = (s: DistributedScheduler) => s.history('tick', 100);

  /** A replica of a 200 ms task with a 300 ms deadline, counting its skips by reason. */
  const pausable = (scheduler: string, id: string, runs: Run[], skips: Record<string, number>) => {
    const s = replica(id, { scheduler, recoveryWindowMs: 300 });
    s.register(every(0.2), new Task('tick', recorder(runs), { deadlineMs: 300 }));
    s.addListener({ onSkip: (c) => void (skips[c.reason] = (skips[c.reason] ?? 0) + c.count) });
    return s;
  };

  it('a task paused while every replica was down is recorded paused, not missed, by the first replica back', async () => {
    const skips: Record<string, number> = {};
    const make = (id: string) => pausable('paused-down', id, [], skips);
    const a = make('a');
    await a.start();
    await delay(500);
    await a.pause('tick');
    await delay(400);
    await a.stop(); // every replica down for 1.5 s: 7 fires nobody decides
    await delay(1_500);
    const b = make('b');
    await b.start();
    await delay(1_000);
    expect((await historyOf(b)).filter((r) => r.outcome === 'missed')).toEqual([]);
    expect(skips.missed ?? 0).toBe(0);
    expect(skips.paused ?? 0).toBeGreaterThanOrEqual(10);
  }, 20_000);

  it('fires nobody decided while the task was paused stay paused after it is resumed: only the fires after the resume run', async () => {
    const runs: Run[] = [];
    const skips: Record<string, number> = {};
    const make = (id: string) => pausable('paused-resumed', id, runs, skips);
    const a = make('a');
    await a.start();
    await delay(500);
    await a.pause('tick');
    await a.stop();
    await delay(1_500); // down and paused
    const store = new RedisTaskStore(client(), { scheduler: 'paused-resumed' });
    await store.setPaused('tick', false); // resumed from elsewhere (an operator, another app's replica)
    const resumedAt = Date.now();
    await delay(1_000); // down and resumed: these fires are missed
    const b = make('b');
    await b.start();
    await waitFor(() => runs.some((r) => r.startedMs > resumedAt + 1_000), { timeoutMs: 3_000, what: 'a run after the restart' });
    await delay(300);
    const missed = (await historyOf(b)).filter((r) => r.outcome === 'missed').map((r) => Date.parse(r.scheduledAt));
    expect(missed.length).toBeGreaterThanOrEqual(3);
    expect(missed.filter((ms) => ms < resumedAt)).toEqual([]); // the paused ones are not among them
    expect(skips.paused ?? 0).toBeGreaterThanOrEqual(6);
  }, 20_000);
});

describe('manual runs', () => {
  it('each manual run has an Idempotency-Key of its own, even fifty triggered at once', async () => {
    const runs: Run[] = [];
    const s = replica('a', { scheduler: 'manual-keys', recoveryWindowMs: 300 });
    s.register(Triggers.onceOf(new Date(Date.now() + 3_600_000)), new Task('report', recorder(runs), { overlap: 'allow' }));
    s.register(Triggers.onceOf(new Date(Date.now() + 3_600_000)), new Task('local', recorder(runs), { concurrent: true, overlap: 'allow' }));
    await s.start();
    await Promise.all(Array.from({ length: 50 }, () => s.triggerTask('report')));
    await Promise.all(Array.from({ length: 20 }, () => s.triggerTask('local')));
    const keys = (task: string) => runs.filter((r) => r.task === task).map((r) => r.key);
    expect(keys('report')).toHaveLength(50);
    expect(new Set(keys('report')).size).toBe(50); // 100 triggers gave 26 distinct keys
    expect(new Set(keys('local')).size).toBe(20);
    expect(keys('report')[0]).toMatch(/^report@\d{4}-\d\d-\d\dT[\d:.]+Z\/manual-[0-9a-f]{16}$/);
  }, 20_000);
});

describe("one task's unreadable state in Redis", () => {
  it('costs no other task a fire: the log names the key, the store-error count rises, and the broken task runs again once the key is deleted', async () => {
    const admin = client();
    await admin.set('taskino:{bad-state}:t:broken', 'not a hash'); // another program's key, or junk
    await admin.set('taskino:{bad-state}:hist:nohistory', 'not a list');
    const runs: Run[] = [];
    const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
    const storeErrors: string[] = [];
    const s = replica('a', { scheduler: 'bad-state', recoveryWindowMs: 300 }, { logger: capturingLogger(lines) });
    for (const name of ['fine', 'broken', 'nohistory']) s.register(every(0.2), new Task(name, recorder(runs), { deadlineMs: 1_000 }));
    s.addListener({ onStoreError: (op) => void storeErrors.push(op) });
    await s.start();
    const from = Date.now() + 500;
    await delay(2_500);
    const to = Date.now() - 500;
    const ranOf = (task: string) => new Set(runs.filter((r) => r.task === task && r.scheduledMs >= from && r.scheduledMs <= to).map((r) => r.scheduledMs));
    const grid: number[] = [];
    for (let t = Math.ceil(from / 200) * 200; t <= to; t += 200) grid.push(t);
    // Claimed in the same batches as the broken task's fires, every fire of the others ran.
    expect(grid.filter((t) => !ranOf('fine').has(t))).toEqual([]);
    expect(grid.filter((t) => !ranOf('nohistory').has(t))).toEqual([]); // its lease is released though its history cannot be written
    expect(ranOf('broken').size).toBe(0);
    expect((await s.history('fine', 100)).length).toBeGreaterThanOrEqual(grid.length);
    const claimError = lines.find((l) => l.message.startsWith('cannot claim a fire'));
    expect(claimError?.fields).toMatchObject({ task: 'broken', key: 'taskino:{bad-state}:t:broken', error: expect.stringContaining('WRONGTYPE') });
    expect(lines.filter((l) => l.message.startsWith('cannot claim a fire'))).toHaveLength(1); // once, not once per fire
    expect(lines.filter((l) => l.message.startsWith('gave up a fire: the store stayed unreachable'))).toEqual([]);
    const recordError = lines.find((l) => l.message.startsWith('could not record a run'));
    expect(String(recordError?.fields.error)).toContain('taskino:{bad-state}:hist:nohistory');
    expect(storeErrors).toContain('claim');
    expect(storeErrors).toContain('complete');

    await admin.del('taskino:{bad-state}:t:broken');
    const fixedAt = Date.now();
    await waitFor(() => runs.some((r) => r.task === 'broken' && r.scheduledMs > fixedAt), { timeoutMs: 3_000, what: 'the broken task to run once fixed' });
    expect(lines.some((l) => l.message.startsWith('the store state of this task is readable again') && l.fields.task === 'broken')).toBe(true);
  }, 20_000);
});

describe('unreadable definitions in Redis', () => {
  it('are reported once with the key, the tasks in force keep running, and deleting the key lets the replicas publish again', async () => {
    const runs: Run[] = [];
    const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
    const s = replica('a', { scheduler: 'bad-defs', recoveryWindowMs: 300 }, { logger: capturingLogger(lines) });
    s.register(every(0.2), new Task('tick', recorder(runs)));
    await s.start();
    const admin = client();
    await admin.hset('taskino:{bad-defs}:defs', 'body', '{not json', 'generation', '99');
    await waitFor(() => lines.some((l) => l.level === 'error' && l.message.startsWith('the store holds state taskino cannot read')), { timeoutMs: 3_000, what: 'the report' });
    const reports = () => lines.filter((l) => l.message.startsWith('the store holds state taskino cannot read'));
    expect(reports()[0]!.fields).toMatchObject({ key: 'taskino:{bad-defs}:defs' });
    const brokenAt = Date.now();
    await delay(1_000);
    expect(reports()).toHaveLength(1); // once, not every heartbeat
    expect(runs.filter((r) => r.scheduledMs > brokenAt).length).toBeGreaterThanOrEqual(3);
    await admin.del('taskino:{bad-defs}:defs');
    await waitFor(async () => (await admin.hget('taskino:{bad-defs}:defs', 'body')) !== null, { timeoutMs: 3_000, what: 'the definitions published again' });
  }, 20_000);
});
