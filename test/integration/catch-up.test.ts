import { describe, expect, it } from 'vitest';
import { RedisTaskStore, Task, Triggers, type DistributedScheduler, type Overlap } from '../../src/index.js';
import type { TaskDefinition } from '../../src/core/definitions.js';
import { privateRedis } from '../support/private-redis.js';
import { beating as beatingLoop, publishOne } from '../support/store-replica.js';
import { delay, waitFor } from '../support/wait.js';

// Regression tests for chaos finding 2: a replica that woke late or had just started claimed only
// the latest due fire, so its decision lost the older ones other replicas were still asking for.
const redis = privateRedis();

function store(scheduler: string): RedisTaskStore {
  return new RedisTaskStore(redis.client(), { scheduler, recoveryWindowMs: 0 });
}

/** A replica's heartbeat as the scheduler sends it, every 100 ms; `stop` is a SIGKILL. */
function beating(s: RedisTaskStore, instance: string): { stop(): void } {
  return beatingLoop(s, instance, { intervalMs: 100, deadAfterMs: 300, everyMs: 50 });
}

const EVERY = 200;
const task: TaskDefinition = {
  name: 'job',
  trigger: { kind: 'every', everyMs: EVERY, startAtMs: 0 },
  scope: 'cluster',
  overlap: 'allow',
  deadlineMs: 30_000,
  timeoutMs: 0,
  retries: 0,
};

async function published(scheduler: string) {
  const s = store(scheduler);
  const { sinceMs, claim } = await publishOne(s, task);
  const firstFire = Math.ceil((sinceMs + 1) / EVERY) * EVERY;
  return { s, firstFire, claim };
}

async function until(s: RedisTaskStore, ms: number): Promise<void> {
  await delay(Math.max(0, ms - s.now() + 5));
}

describe('claiming older due fires on the way to a later one (claim.lua on a real redis-server)', () => {
  it('an older fire is decided for the late replica when another replica was up at it (it may still be asking)', async () => {
    const { s, claim } = await published('owed');
    const up = beating(s, 'a');
    // The fires counted are those after a registered: one due before its first beat landed was
    // rightly nobody's (that is the next test), and a beat can land after the next 200 ms boundary.
    await waitFor(async () => (await s.sync()).members.some((m) => m.instance === 'a'), { timeoutMs: 2_000, what: 'a to register' });
    const firstFire = Math.ceil((s.now() + 1) / EVERY) * EVERY;
    await until(s, firstFire + EVERY); // a is up for both fires but its claims have not got through
    const b = store('owed');
    const beatB = beating(b, 'b');
    await waitFor(async () => (await b.sync()).members.length === 2, { timeoutMs: 2_000, what: 'b to register' });
    expect((await claim(b, 'b', firstFire, true)).kind).toBe('won');
    expect(await claim(b, 'b', firstFire + EVERY)).toMatchObject({ kind: 'won', previousMs: firstFire });
    expect((await claim(s, 'a', firstFire)).kind).toBe('lost'); // a's held-up claim arrives: decided once
    up.stop();
    beatB.stop();
  });

  it('when every replica was down at the older fires, they are superseded: the latest runs and its decision counts them missed', async () => {
    const { s, firstFire, claim } = await published('down');
    const stopped = beating(s, 'a');
    await until(s, firstFire);
    expect((await claim(s, 'a', firstFire)).kind).toBe('won');
    stopped.stop();
    await s.leave('a'); // a stops, before the next fires are due
    await until(s, firstFire + 3 * EVERY);
    const b = store('down');
    const beatB = beating(b, 'b'); // the first replica back
    await waitFor(async () => (await b.sync()).members.some((m) => m.instance === 'b'), { timeoutMs: 2_000, what: 'b to register' });
    expect((await claim(b, 'b', firstFire + EVERY, true)).kind).toBe('superseded');
    expect((await claim(b, 'b', firstFire + 2 * EVERY, true)).kind).toBe('superseded');
    expect(await claim(b, 'b', firstFire + 3 * EVERY)).toMatchObject({ kind: 'won', previousMs: firstFire });
    beatB.stop();
  });

  it('a store that lost its state learns back from the heartbeat since when each replica has been up', async () => {
    const s = store('since');
    const first = await s.sync({ instance: 'a', intervalMs: 1000, deadAfterMs: 3000 });
    const sinceMs = first.members.find((m) => m.instance === 'a')!.sinceMs;
    await delay(50);
    await redis.client().flushall();
    const after = await s.sync({ instance: 'a', intervalMs: 1000, deadAfterMs: 3000, sinceMs });
    expect(after.members).toEqual([{ instance: 'a', sinceMs }]);
  });
});

describe('a scheduler catching up', () => {
  const tick = Triggers.periodOf(new Date(0), undefined, 0.2);

  /** Starts a scheduler with the task "tick"; records the scheduled time of every run. */
  async function replica(scheduler: string, id: string, ran: number[], overlap: Overlap, skipped: number[] = []): Promise<DistributedScheduler> {
    const { s } = redis.replica(id, { scheduler, recoveryWindowMs: 0 });
    s.register(tick, new Task('tick', async (ctx) => void ran.push(ctx.scheduledAt.getTime()), { deadlineMs: 30_000, overlap }));
    s.addListener({ onSkip: (c) => void (c.reason === 'overlap' && skipped.push(c.scheduledAt.getTime())) });
    await s.start();
    return s;
  }

  /** Runs a replica for a few fires, stops it, leaves the task undecided for 5 fires, then starts another. */
  async function gap(scheduler: string, othersUp: boolean, overlap: Overlap = 'allow') {
    const ran: number[] = [];
    const skipped: number[] = [];
    const first = await replica(scheduler, 'first', ran, overlap);
    await waitFor(() => ran.length >= 2, { timeoutMs: 3_000, what: 'two runs' });
    // Another replica up but unable to claim (cut off, or its claims queued): its beat is all the store sees of it.
    const other = othersUp ? beating(store(scheduler), 'cut-off') : undefined;
    await first.stop();
    const lastBefore = Math.max(...ran);
    await delay(5 * 200 + 50);
    const second = await replica(scheduler, 'second', ran, overlap, skipped);
    await waitFor(() => ran.some((ms) => ms > lastBefore + 6 * 200), { timeoutMs: 3_000, what: 'the second replica to be on time' });
    other?.stop();
    const history = await second.history('tick', 100);
    await second.stop();
    return { ran, lastBefore, skipped, missed: history.filter((r) => r.outcome === 'missed').map((r) => Date.parse(r.scheduledAt)) };
  }

  it('overlap allow: a replica starting while another is up runs every fire due inside its deadline, once each and oldest first', async () => {
    const { ran, lastBefore, missed } = await gap('owed-scheduler', true);
    const after = ran.filter((ms) => ms > lastBefore);
    const expected = Array.from({ length: (Math.max(...after) - lastBefore) / 200 }, (_, i) => lastBefore + (i + 1) * 200);
    expect(after).toEqual(expected);
    expect(missed).toEqual([]);
  });

  it('promise 4: overlap skip never queues: a replica starting while another is up runs only the latest due fire, and skips the older ones as overlap (never missed)', async () => {
    const { ran, lastBefore, missed, skipped } = await gap('owed-skip-scheduler', true, 'skip');
    const after = ran.filter((ms) => ms > lastBefore);
    const firstAfter = after[0]!;
    expect(firstAfter - lastBefore).toBeGreaterThanOrEqual(5 * 200);
    const older = Array.from({ length: (firstAfter - lastBefore) / 200 - 1 }, (_, i) => lastBefore + (i + 1) * 200);
    expect(skipped.filter((ms) => ms < firstAfter).sort((a, b) => a - b)).toEqual(older);
    expect(missed).toEqual([]);
  });

  it('the first replica back after every replica was down runs only the latest due fire and records the older ones missed', async () => {
    const { ran, lastBefore, missed } = await gap('down-scheduler', false, 'skip');
    const after = ran.filter((ms) => ms > lastBefore);
    const firstAfter = after[0]!;
    expect(firstAfter - lastBefore).toBeGreaterThanOrEqual(5 * 200);
    const skipped = Array.from({ length: (firstAfter - lastBefore) / 200 - 1 }, (_, i) => lastBefore + (i + 1) * 200);
    expect(missed.sort((a, b) => a - b)).toEqual(skipped);
    expect(ran.filter((ms) => ms > lastBefore && ms < firstAfter)).toEqual([]);
  });
});
