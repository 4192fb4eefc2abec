import { afterEach, describe, expect, it } from 'vitest';
import {
  DistributedScheduler,
  DuplicateTaskError,
  InvalidOptionError,
  MemoryTaskStore,
  silentLogger,
  Task,
  Triggers,
  UnknownTaskError,
  type CompletionContext,
  type SkipContext,
} from '../../src/index.js';
import { FakeTime } from '../support/fake-time.js';
import { delay, waitFor } from '../support/wait.js';

const started: DistributedScheduler[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

function scheduler(store: MemoryTaskStore, options: ConstructorParameters<typeof DistributedScheduler>[1] = {}): DistributedScheduler {
  const s = new DistributedScheduler(store, { logger: silentLogger, pollIntervalMs: 100, ...options });
  started.push(s);
  return s;
}

describe('DistributedScheduler on the memory store', () => {
  it('runs each cluster fire once across schedulers sharing a store, and pod fires on each', async () => {
    const store = new MemoryTaskStore();
    const clusterRuns: string[] = [];
    const podRuns: string[] = [];
    for (const id of ['a', 'b', 'c']) {
      const s = scheduler(store, { replicaId: id });
      s.register(Triggers.periodOfDelay(0.2, 0.2), new Task('cluster', (ctx) => void clusterRuns.push(ctx.scheduledAt.toISOString())));
      s.register(Triggers.periodOfDelay(0.2, 0.2), new Task('pod', (ctx) => void podRuns.push(`${ctx.replica} ${ctx.scheduledAt.toISOString()}`), { concurrent: true }));
      await s.start();
    }
    await waitFor(() => clusterRuns.length >= 6, { timeoutMs: 5_000, what: '6 cluster runs' });
    await Promise.all(started.splice(0).map((s) => s.stop()));
    expect(new Set(clusterRuns).size).toBe(clusterRuns.length);
    const podFires = new Map<string, number>();
    for (const run of podRuns) podFires.set(run.split(' ')[1]!, (podFires.get(run.split(' ')[1]!) ?? 0) + 1);
    // Every pod fire ran on all three replicas (except possibly the last one, cut by stop()).
    const counts = [...podFires.values()].slice(0, -1);
    expect(counts.length).toBeGreaterThanOrEqual(4);
    expect(counts.every((c) => c === 3)).toBe(true);
  });

  it('stop() called from inside a task returns, and waitForever resolves after that run is recorded (original deadlock)', async () => {
    const store = new MemoryTaskStore();
    const s = scheduler(store);
    const completions: CompletionContext[] = [];
    let stopsSeen = 0;
    s.register(Triggers.onceOfDelay(0.05), new Task('stopper', async () => {
      await s.stop();
    }));
    s.register(Triggers.periodOfDelay(0, 0.05), new Task('ticker', () => {}));
    s.addListener({ onComplete: (c) => void completions.push(c), onStop: () => void stopsSeen++ });
    await s.start();
    await s.waitForever();
    expect(completions.find((c) => c.task === 'stopper')?.ok).toBe(true);
    expect(stopsSeen).toBe(1);
    const after = completions.length;
    await delay(300);
    // Timers are cancelled on stop: nothing fires after it (original: cron timers kept running).
    expect(completions.length).toBe(after);
    expect(await store.history('stopper', 5)).toHaveLength(1);
  });

  it('triggerTask runs once under the overlap rule, records trigger "manual", and --force bypasses it', async () => {
    const store = new MemoryTaskStore();
    const a = scheduler(store, { replicaId: 'a' });
    const b = scheduler(store, { replicaId: 'b' });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const runs: string[] = [];
    for (const s of [a, b]) {
      s.register(Triggers.cronOf('0 0 1 1 *'), new Task('job', async (ctx) => {
        runs.push(`${ctx.replica}:${ctx.trigger}`);
        await gate;
      }));
      await s.start();
    }
    const first = a.triggerTask('job');
    await waitFor(() => runs.length === 1, { timeoutMs: 2_000, what: 'the manual run to start' });
    // A run is in progress on a: b's trigger is refused (original: ran locally, outside any lock).
    expect(await b.triggerTask('job')).toEqual({ ran: false, reason: 'overlap' });
    const forced = b.triggerTask('job', { force: true });
    await waitFor(() => runs.length === 2, { timeoutMs: 2_000, what: 'the forced run to start' });
    release();
    const [firstResult, forcedResult] = await Promise.all([first, forced]);
    expect(firstResult.ran && firstResult.result.trigger).toBe('manual');
    expect(forcedResult.ran && forcedResult.result.replica).toBe('b');
    expect(runs).toEqual(['a:manual', 'b:manual']);
    const history = await a.history('job');
    expect(history.map((h) => h.trigger)).toEqual(['manual', 'manual']);
    await expect(a.triggerTask('nope')).rejects.toBeInstanceOf(UnknownTaskError);
  });

  it('retries a failing task inside its deadline and reports the attempt; times out a hung attempt', async () => {
    const store = new MemoryTaskStore();
    const s = scheduler(store);
    let calls = 0;
    let abortedBy: unknown;
    s.register(Triggers.cronOf('0 0 1 1 *'), new Task('flaky', () => {
      calls++;
      if (calls < 3) throw new Error(`boom ${calls}`);
    }, { retries: 2 }));
    s.register(Triggers.cronOf('0 0 1 1 *'), new Task('hung', (ctx) => new Promise((resolve) => {
      ctx.signal.addEventListener('abort', () => { abortedBy = ctx.signal.reason; resolve(undefined); });
    }), { timeoutMs: 100 }));
    await s.start();
    const flaky = await s.triggerTask('flaky');
    expect(flaky.ran && [flaky.result.outcome, flaky.result.attempt]).toEqual(['success', 3]);
    const hung = await s.triggerTask('hung');
    expect(hung.ran && hung.result.outcome).toBe('timeout');
    expect(String(abortedBy)).toMatch(/did not finish within its timeout of 100 ms/);
    expect((await s.history('hung'))[0]).toMatchObject({ outcome: 'timeout', error: expect.stringMatching(/timeout of 100 ms/) });
  });

  it('a task that looks at its signal only after the timeout finds it aborted, with the reason', async () => {
    const store = new MemoryTaskStore();
    const s = scheduler(store);
    let seen: { aborted: boolean; reason: string } | undefined;
    let looked!: () => void;
    const lookedAfterTimeout = new Promise<void>((resolve) => (looked = resolve));
    s.register(Triggers.cronOf('0 0 1 1 *'), new Task('late-reader', async (ctx) => {
      await delay(300);
      seen = { aborted: ctx.signal.aborted, reason: String(ctx.signal.reason) };
      looked();
    }, { timeoutMs: 100 }));
    await s.start();
    const result = await s.triggerTask('late-reader');
    expect(result.ran && result.result.outcome).toBe('timeout');
    await lookedAfterTimeout;
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toMatch(/did not finish within its timeout of 100 ms/);
    await s.stop();
  });

  it('stop() honours the grace period: a run that ignores it is aborted, recorded and stop() resolves (review finding)', async () => {
    const store = new MemoryTaskStore();
    const s = scheduler(store, { shutdownGraceMs: 200 });
    let aborted = false;
    s.register(Triggers.cronOf('0 0 1 1 *'), new Task('stubborn', (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => {
      aborted = true;
      setTimeout(resolve, 60_000); // even after the abort it does not finish
    }))));
    await s.start();
    const run = s.triggerTask('stubborn');
    await delay(50);
    const stopStarted = Date.now();
    await s.stop();
    expect(Date.now() - stopStarted).toBeLessThan(2_000);
    expect(aborted).toBe(true);
    const result = await run;
    expect(result.ran && [result.result.outcome, result.result.error?.message]).toEqual(['failure', 'task "stubborn" was stopped: the shutdown grace period ended']);
  });

  it('runs onceOfDelay(0) and the first fire of periodOfDelay(0, s) (review finding)', async () => {
    const store = new MemoryTaskStore();
    const s = scheduler(store);
    const runs: string[] = [];
    s.register(Triggers.onceOfDelay(0), new Task('now', () => void runs.push('now')));
    s.register(Triggers.periodOfDelay(0, 60), new Task('first', () => void runs.push('first')));
    await s.start();
    await waitFor(() => runs.length === 2, { timeoutMs: 2_000, what: 'both immediate fires' });
    expect(runs.sort()).toEqual(['first', 'now']);
  });

  it('rejects bad registrations with clear errors', () => {
    const s = scheduler(new MemoryTaskStore());
    s.register(Triggers.onceOfDelay(1), new Task('one', () => {}));
    expect(() => s.register(Triggers.onceOfDelay(1), new Task('one', () => {}))).toThrow(DuplicateTaskError);
    expect(() => new Task('Bad Name', () => {})).toThrow(/invalid task name "Bad Name"/);
    expect(() => new Task('x', () => {}, { overlap: 'maybe' as 'skip' })).toThrow(/overlap must be "skip" or "allow"/);
    expect(() => new Task('x', () => {}, { deadlineMs: -1 })).toThrow(InvalidOptionError);
    expect(() => new DistributedScheduler(new MemoryTaskStore(), { pollIntervalMs: 0 })).toThrow(/pollIntervalMs must be at least 10 ms/);
  });

  it('keeps scheduling when a listener throws', async () => {
    const s = scheduler(new MemoryTaskStore());
    let runs = 0;
    s.register(Triggers.periodOfDelay(0, 0.05), new Task('t', () => void runs++));
    s.addListener({ onComplete: () => { throw new Error('listener bug'); } });
    await s.start();
    await waitFor(() => runs >= 3, { timeoutMs: 2_000, what: '3 runs despite a throwing listener' });
  });
});

describe('timers with injected time', () => {
  it('never sleeps longer than maxSleepMs, and fires a far-away task once when its time comes', async () => {
    const time = new FakeTime(Date.parse('2026-01-01T00:00:00Z'));
    const store = new MemoryTaskStore({ clock: time.clock });
    const s = scheduler(store, { sleep: time.sleep, maxSleepMs: 30_000 });
    const runs: string[] = [];
    s.register(Triggers.onceOf(new Date('2026-01-01T02:00:00Z')), new Task('later', (ctx) => void runs.push(ctx.scheduledAt.toISOString())));
    await s.start();
    for (let i = 0; i < 8; i++) await time.advance(15 * 60_000); // 2 h in steps, as a drifting process would wake
    await time.advance(5);
    expect(runs).toEqual(['2026-01-01T02:00:00.000Z']);
    expect(Math.max(...time.requestedSleeps)).toBeLessThanOrEqual(30_000);
  });

  it('aligns cron fires to the expression, not to the start time (original: timers drifted from start)', async () => {
    const time = new FakeTime(Date.parse('2026-01-01T00:00:17Z'));
    const store = new MemoryTaskStore({ clock: time.clock });
    const s = scheduler(store, { sleep: time.sleep });
    const runs: Array<{ scheduled: string; ranAt: string }> = [];
    s.register(Triggers.cronOf('* * * * *'), new Task('minutely', (ctx) => void runs.push({ scheduled: ctx.scheduledAt.toISOString(), ranAt: new Date(time.nowMs).toISOString() })));
    await s.start();
    await time.advance(42_999);
    expect(runs).toEqual([]);
    await time.advance(1);
    for (let i = 0; i < 4; i++) await time.advance(30_000);
    expect(runs).toEqual([
      { scheduled: '2026-01-01T00:01:00.000Z', ranAt: '2026-01-01T00:01:00.000Z' },
      { scheduled: '2026-01-01T00:02:00.000Z', ranAt: '2026-01-01T00:02:00.000Z' },
      { scheduled: '2026-01-01T00:03:00.000Z', ranAt: '2026-01-01T00:03:00.000Z' },
    ]);
  });

  it('after a suspension, runs only the latest due fire and records the older ones as missed', async () => {
    const time = new FakeTime(Date.parse('2026-01-01T00:00:00Z'));
    const store = new MemoryTaskStore({ clock: time.clock });
    const s = scheduler(store, { sleep: time.sleep });
    const runs: string[] = [];
    const skips: SkipContext[] = [];
    s.register(Triggers.periodOf(new Date('2026-01-01T00:00:10Z'), undefined, 10), new Task('tick', (ctx) => void runs.push(ctx.scheduledAt.toISOString()), { deadlineMs: 5_000 }));
    s.addListener({ onSkip: (c) => void skips.push(c) });
    await s.start();
    await time.advance(10_000);
    expect(runs).toEqual(['2026-01-01T00:00:10.000Z']);
    // The process is frozen for 5 minutes: 30 fires come due at once.
    await time.advance(300_000);
    await time.settle();
    expect(runs).toEqual(['2026-01-01T00:00:10.000Z', '2026-01-01T00:05:10.000Z']);
    expect(skips).toEqual([{ task: 'tick', reason: 'missed', count: 29, scheduledAt: new Date('2026-01-01T00:05:00Z') }]);
    const history = await s.history('tick', 100);
    expect(history.filter((h) => h.outcome === 'missed')).toHaveLength(10); // the latest 10 of 29 are listed
  });
});
