import { describe, expect, it } from 'vitest';
import type { ScheduledTask } from '../../src/core/scheduler/scheduled-task.js';
import type { HomeStanding } from '../../src/core/scheduler/home-progress.js';
import { WatchLine, type LineSweeper, type Watched } from '../../src/core/scheduler/watch-line.js';

// A replica that is not a task's home keeps no timer for it while the home's word covers its fires
// ("parked"), and gets it back in time for its safety-net turn when the home falls silent or its word
// stops holding. These are the rules; safety-net.test.ts shows the same on real replicas.

const task = (name: string) => ({ published: { definition: { name } } }) as unknown as ScheduledTask;
const PATIENCE_MS = 30_000;

function standing(over: Partial<HomeStanding> = {}): HomeStanding {
  return { throughMs: 999, viewSinceMs: 0, heardMs: 990, freshMs: 250, ...over };
}

function recorder() {
  const claimed: string[] = [];
  const unparked: Array<[string, number]> = [];
  const sweeper: LineSweeper = {
    known: () => false,
    claim: (w) => claimed.push(`${w.name}@${w.fireMs}`),
    left: () => {},
    unpark: (t, afterMs) => unparked.push([t.published.definition.name, afterMs]),
  };
  return { claimed, unparked, sweeper };
}

describe('a line of fires watched for one home', () => {
  it('parks a task only when the home is trusted for its next fire and keeping up', () => {
    const line = new WatchLine('h', 1);
    expect(line.park(task('a'), 2_000, PATIENCE_MS, undefined, 1_000)).toBe(false); // home never heard under this view
    expect(line.park(task('a'), 2_000, PATIENCE_MS, standing({ viewSinceMs: 2_500 }), 1_000)).toBe(false); // its view is later than the fire
    expect(line.park(task('a'), 1_500, PATIENCE_MS, standing({ heardMs: 1_000 }), 1_700)).toBe(false); // fire due 200 ms ago, home silent
    expect(line.park(task('a'), 2_000, PATIENCE_MS, standing(), 1_000)).toBe(true);
    expect(line.empty).toBe(false);
  });

  it('keeps a parked task without a timer while the home announces its fires decided', () => {
    const line = new WatchLine('h', 1);
    const { unparked, sweeper } = recorder();
    line.park(task('a'), 2_000, PATIENCE_MS, standing(), 1_000);
    line.sweep(standing(), 1_900, sweeper); // nothing due yet
    line.sweep(standing({ throughMs: 1_999, heardMs: 2_010 }), 2_100, sweeper); // busy at 2000: heard from
    line.sweep(standing({ throughMs: 2_999, heardMs: 2_040 }), 2_900, sweeper); // decided through the next burst
    expect(unparked).toEqual([]);
    expect(line.parkedCheckMs(standing({ throughMs: 2_999, heardMs: 2_040 }), 2_900)).toBe(3_000 + 125 + 1);
  });

  it('gives the timer back, from the first fire not announced decided, once the home falls silent', () => {
    const line = new WatchLine('h', 1);
    const { unparked, sweeper } = recorder();
    line.park(task('a'), 2_000, PATIENCE_MS, standing(), 1_000);
    line.sweep(standing({ throughMs: 2_999, heardMs: 2_040 }), 2_500, sweeper); // covered through 2999
    line.sweep(standing({ throughMs: 2_999, heardMs: 2_040 }), 3_100, sweeper); // 100 ms after 3000: still within half the silence
    expect(unparked).toEqual([]);
    line.sweep(standing({ throughMs: 2_999, heardMs: 2_040 }), 3_130, sweeper);
    expect(unparked).toEqual([['a', 2_999]]); // its fires after 2999 go back on this replica's timer
    expect(line.empty).toBe(true);
  });

  it("gives the timer back at once when the home's word stops holding (another view, or unknown)", () => {
    for (const changed of [undefined, standing({ viewSinceMs: 1_500 })]) {
      const line = new WatchLine('h', 1);
      const { unparked, sweeper } = recorder();
      line.park(task('a'), 2_000, PATIENCE_MS, standing(), 1_000);
      line.park(task('b'), 2_200, PATIENCE_MS, standing(), 1_000);
      expect(line.parkedCheckMs(changed, 1_100)).toBe(1_100);
      line.sweep(changed, 1_100, sweeper);
      expect(unparked).toEqual([['a', 1_999], ['b', 2_199]]); // nothing covered beyond what was due after parking
    }
  });

  it('lets a busy home be slow, but not past half the patience', () => {
    const line = new WatchLine('h', 1);
    const { unparked, sweeper } = recorder();
    line.park(task('a'), 2_000, 10_000, standing(), 1_000);
    line.sweep(standing({ throughMs: 1_500, heardMs: 6_900 }), 6_990, sweeper); // heard from, 5 s behind
    expect(unparked).toEqual([]);
    line.sweep(standing({ throughMs: 1_500, heardMs: 7_000 }), 7_010, sweeper);
    expect(unparked).toEqual([['a', 1_999]]);
  });

  it('lets go of waiting fires the home announced decided, and claims the others once it is quiet after their turn', () => {
    const line = new WatchLine('h', 1);
    const { claimed, sweeper } = recorder();
    const fire = (name: string, fireMs: number): Watched => ({ task: task(name), name, fireMs, turnMs: fireMs, claimByMs: fireMs + 15_000, catchUp: false });
    line.add(fire('a', 1_000));
    line.add(fire('b', 2_000));
    line.add(fire('a', 1_500)); // out of order: kept in order of scheduled time
    line.sweep(standing({ throughMs: 1_000, heardMs: 2_000 }), 2_050, sweeper);
    expect(line.size).toBe(2);
    expect(claimed).toEqual([]);
    line.sweep(standing({ throughMs: 1_000, heardMs: 2_000 }), 2_300, sweeper); // silent 300 ms since 2000: quiet
    expect(claimed).toEqual(['a@1500', 'b@2000']);
    expect(line.empty).toBe(true);
  });
});
