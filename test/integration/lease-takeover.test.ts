import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisTaskStore, type ClaimResult } from '../../src/index.js';
import type { TaskDefinition } from '../../src/core/definitions.js';
import { RedisServer } from '../support/redis-server.js';
import { beating as beatingLoop, publishOne } from '../support/store-replica.js';
import { delay } from '../support/wait.js';

// Heartbeats every 300 ms: late after 600 ms without one, dead after 1500 ms of Redis service time.
const BEAT = 300;
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
  const redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: null });
  clients.push(redis);
  return new RedisTaskStore(redis, { scheduler, recoveryWindowMs: 0 });
}

/** A replica's heartbeat loop, as the scheduler runs it; `stop` is a SIGKILL: it just ends. */
function beating(s: RedisTaskStore, instance: string): { stop(): void } {
  return beatingLoop(s, instance, { intervalMs: BEAT, deadAfterMs: 5 * BEAT, everyMs: 100 });
}

/** Asks for a fire until the store decides it, as FireRunner does on 'busy'; every reply, in order. */
async function claimUntilDecided(ask: () => Promise<ClaimResult>, withinMs: number): Promise<ClaimResult[]> {
  const giveUpAt = Date.now() + withinMs;
  const replies: ClaimResult[] = [];
  for (;;) {
    const reply = await ask();
    replies.push(reply);
    if (reply.kind !== 'busy') return replies;
    if (Date.now() > giveUpAt) throw new Error(`still busy after ${withinMs} ms: ${JSON.stringify(replies.slice(-3))}`);
    await delay(reply.retryInMs);
  }
}

const skipTask: TaskDefinition = {
  name: 'job',
  trigger: { kind: 'every', everyMs: 1000, startAtMs: 0 },
  scope: 'cluster',
  overlap: 'skip',
  deadlineMs: 30_000,
  timeoutMs: 0,
  retries: 0,
};

async function setUp(scheduler: string) {
  const a = store(scheduler);
  const b = store(scheduler);
  await a.sync({ instance: 'a', intervalMs: BEAT, deadAfterMs: 5 * BEAT });
  const { sinceMs, claim } = await publishOne(a, skipTask);
  const fire = Math.ceil(sinceMs / 1000) * 1000;
  return { a, b, fire, claim };
}

describe('a run whose replica stopped heartbeating (claim.lua and sync.lua on a real redis-server)', () => {
  it('a replica killed mid-run: later fires wait while it is late, then one takes its lease over; none is skipped', async () => {
    const { a, b, fire, claim } = await setUp('killed');
    const beatA = beating(a, 'a');
    const beatB = beating(b, 'b');
    await delay(fire - a.now() + 5);
    expect((await claim(a, 'a', fire)).kind).toBe('won'); // a's run starts and holds the lease (60 s TTL)
    expect(await a.renewLease('job', `a-${fire}`, 60_000, 'a', a.now())).toBe('renewed'); // its lease keeper tells when it started

    await delay(fire + 1000 - b.now() + 5);
    await a.sync({ instance: 'a', intervalMs: BEAT, deadAfterMs: 5 * BEAT });
    // a heartbeated after the fire was due: its run is trusted, and the fire overlaps it.
    expect(await claim(b, 'b', fire + 1000)).toMatchObject({ kind: 'skipped', reason: 'overlap' });

    beatA.stop(); // SIGKILL mid-run: the lease stays for 60 s, but a beats no more
    const killedAt = b.now();
    await delay(fire + 2000 - b.now() + 5);
    const replies = await claimUntilDecided(() => claim(b, 'b', fire + 2000), 5_000);
    const takenAt = b.now();
    beatB.stop();
    // While a was only late the fire waited; once a was dead it ran, 1.5 s or so after a's last beat.
    expect(replies[0]?.kind).toBe('busy');
    expect(replies.at(-1)).toMatchObject({ kind: 'won', takenOverFrom: 'a' });
    expect(takenAt - killedAt).toBeGreaterThanOrEqual(1_000);
    expect(takenAt - killedAt).toBeLessThan(2_500);
    // The lease is b's now: a ghost of a renewing it is refused.
    expect(await a.renewLease('job', `a-${fire}`, 60_000, 'a')).toBe('taken');
  });

  it('a run whose claim reply reached its replica after the next fire was due: that fire queues behind the run and runs, instead of being skipped', async () => {
    const { a, b, fire, claim } = await setUp('late-reply');
    const beatA = beating(a, 'a');
    const beatB = beating(b, 'b');
    await delay(fire - a.now() + 5);
    expect((await claim(a, 'a', fire)).kind).toBe('won'); // decided now; the reply is held up (a replica acknowledgement in a failover)
    await delay(fire + 1000 - b.now() + 5);
    await a.sync({ instance: 'a', intervalMs: BEAT, deadAfterMs: 5 * BEAT }); // a is alive after the fire was due
    expect((await claim(b, 'b', fire + 1000)).kind).toBe('busy'); // not 'skipped': a has not said its run started
    const startedMs = a.now(); // the reply arrives: a's run starts after the next fire was due, and ends at once
    await a.complete('job', [], `a-${fire}`, a.now(), startedMs);
    expect(await claim(b, 'b', fire + 1000)).toMatchObject({ kind: 'won', previousMs: fire });
    beatA.stop();
    beatB.stop();
  });

  it('a replica killed just after a heartbeat (still alive by age): the next fire waits for proof of life instead of being skipped', async () => {
    const { a, b, fire, claim } = await setUp('just-killed');
    const beatB = beating(b, 'b');
    await delay(fire - a.now() + 5);
    expect((await claim(a, 'a', fire)).kind).toBe('won');
    await delay(fire + 1000 - a.now() - 100);
    await a.sync({ instance: 'a', intervalMs: BEAT, deadAfterMs: 5 * BEAT }); // a's last sign of life, 100 ms before the next fire
    await delay(fire + 1000 - b.now() + 5);
    const replies = await claimUntilDecided(() => claim(b, 'b', fire + 1000), 10_000);
    beatB.stop();
    expect(replies[0]?.kind).toBe('busy'); // by age a is alive, but nothing shows its run outlived the fire
    expect(replies.at(-1)).toMatchObject({ kind: 'won', takenOverFrom: 'a' });
  });

  it("a winner whose reply was lost and whose lease was then taken over learns, on its retry, that the fire was missed", async () => {
    const { a, b, fire, claim } = await setUp('lost-reply');
    const beatB = beating(b, 'b');
    await delay(fire - a.now() + 5);
    await a.sync({ instance: 'a', intervalMs: BEAT, deadAfterMs: 5 * BEAT });
    expect((await claim(a, 'a', fire)).kind).toBe('won'); // decided in Redis, but a never sees the reply and is cut off
    await delay(fire + 1000 - b.now() + 5);
    const reply = (await claimUntilDecided(() => claim(b, 'b', fire + 1000), 10_000)).at(-1);
    beatB.stop();
    expect(reply).toMatchObject({ kind: 'won', takenOverFrom: 'a' });
    // a is back and retries with its token: not 'won' (its lease is gone), not 'lost' (nobody ran it): missed.
    expect(await claim(a, 'a', fire)).toEqual({ kind: 'missed', previousMs: undefined });
  });

  it('a run whose completion an outage held back: the next fire, due after the run really ended, waits and then runs', async () => {
    const { a, b, fire, claim } = await setUp('held-back');
    const beatB = beating(b, 'b');
    await a.sync({ instance: 'a', intervalMs: BEAT, deadAfterMs: 5 * BEAT });
    await delay(fire - a.now() + 5);
    expect((await claim(a, 'a', fire)).kind).toBe('won');
    await delay(300);
    const endedMs = a.now(); // the run ends, but writing its completion fails: a retries it, and says so as it beats
    await a.sync({ instance: 'a', intervalMs: BEAT, deadAfterMs: 5 * BEAT, settling: true });
    await delay(fire + 1000 - b.now() + 5);
    await a.sync({ instance: 'a', intervalMs: BEAT, deadAfterMs: 5 * BEAT, settling: true }); // alive after the fire was due
    expect((await claim(b, 'b', fire + 1000)).kind).toBe('busy'); // its lease proves nothing while completions are pending
    await a.complete('job', [], `a-${fire}`, endedMs); // the completion lands, 700 ms after the run ended
    await a.sync({ instance: 'a', intervalMs: BEAT, deadAfterMs: 5 * BEAT });
    expect(await claim(b, 'b', fire + 1000)).toMatchObject({ kind: 'won', previousMs: fire });
    beatB.stop();
  });

  it('a Redis pause longer than the dead threshold makes no live replica look dead (service gaps do not age anyone)', async () => {
    const { a, b, fire, claim } = await setUp('paused');
    const beatA = beating(a, 'a');
    const beatB = beating(b, 'b');
    await delay(fire - a.now() + 5);
    expect((await claim(a, 'a', fire)).kind).toBe('won');
    await delay(fire + 1000 - b.now() - 200);
    server.pause(); // nobody can beat for 2.5 s, longer than the 1.5 s that makes a replica dead
    const during = claim(b, 'b', fire + 1000); // queued: runs when the server comes back
    await delay(2_500);
    server.resume();
    const reply = await during;
    beatA.stop();
    beatB.stop();
    expect(['busy', 'skipped']).toContain(reply.kind);
  });

  it('a replica that stops cleanly leaves at once, so its tasks are claimed without waiting for it to be judged dead', async () => {
    const { a, b } = await setUp('leaving');
    await b.sync({ instance: 'b', intervalMs: BEAT, deadAfterMs: 5 * BEAT });
    const names = async () => (await b.sync({ instance: 'b', intervalMs: BEAT, deadAfterMs: 5 * BEAT })).members.map((m) => m.instance);
    expect(await names()).toEqual(['a', 'b']);
    await a.leave('a');
    expect(await names()).toEqual(['b']);
  });
});
