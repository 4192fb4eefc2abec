import { describe, expect, it } from 'vitest';
import type { ScheduledTask } from '../../src/core/scheduler/scheduled-task.js';
import type { HomeStanding } from '../../src/core/scheduler/home-progress.js';
import type { HomeReplicas } from '../../src/core/scheduler/home-replica.js';
import type { ReplicaKnowledge } from '../../src/core/scheduler/knowledge.js';
import type { SafetyNet } from '../../src/core/scheduler/safety-net.js';
import { SafetyNetWatch } from '../../src/core/scheduler/safety-net-watch.js';
import { systemSleep } from '../../src/core/time.js';
import { waitFor } from '../support/wait.js';

// This replica (R) is second in line for task x, whose home H announced its fires decided through
// 999 and then fell silent. R parked x; when its fire at 1000 comes due, R must take the timer back
// and claim that fire itself. Real timers: the race lies in the order of timers and microtasks.
describe("a replica's watch over another home's fires", () => {
  it('claims a fire that comes due just as the sweep finds nothing left to watch (the sweep restarts)', async () => {
    let now = 500;
    const everySecond = { next: (ms: number) => (Math.floor(ms / 1000) + 1) * 1000 };
    const task = { published: { definition: { name: 'x', deadlineMs: 60_000 } }, trigger: everySecond } as unknown as ScheduledTask;
    const silentHome: HomeStanding = { throughMs: 999, viewSinceMs: 0, heardMs: 400, freshMs: 250 };
    const claims: number[] = [];
    const stopping = new AbortController();
    // R's timer: entries due by `now` are dispatched to the watch, then the next fire is parked or queued.
    const queue: number[] = [];
    let wake = new AbortController();
    const watch: SafetyNetWatch = new SafetyNetWatch({
      safetyNet: { standingOf: () => silentHome } as unknown as SafetyNet,
      home: { homeOf: () => 'H', rankOf: () => 1 } as unknown as HomeReplicas,
      knowledge: { decidedThrough: () => undefined } as unknown as ReplicaKnowledge,
      now: () => now,
      sleep: systemSleep,
      stopping: stopping.signal,
      claim: (_task, fireMs) => void claims.push(fireMs),
      onError: (error) => {
        throw error;
      },
      unpark: (_task, afterMs) => {
        queue.push(everySecond.next(afterMs));
        wake.abort('woken'); // the timer runs in the microtask right after the sweep that unparked
      },
    });
    void (async () => {
      while (!stopping.signal.aborted) {
        for (const fireMs of queue.splice(0).filter((at) => at <= now)) {
          watch.add(task, fireMs, fireMs, false);
          if (!watch.park(task, everySecond.next(fireMs))) queue.push(everySecond.next(fireMs));
        }
        if (wake.signal.aborted) wake = new AbortController();
        await systemSleep(60_000, wake.signal);
      }
    })();
    try {
      expect(watch.park(task, 1_000)).toBe(true);
      now = 1_300; // fire 1000 is due, and H has been silent since 400
      await waitFor(() => claims.includes(1_000), { timeoutMs: 3_000, what: 'the fire at 1000 to be claimed by the safety net' });
      expect(claims).toEqual([1_000]);
    } finally {
      stopping.abort();
      wake.abort();
    }
  });
});
