import { describe, expect, it } from 'vitest';
import { runChaos, TOPOLOGY_FAULTS, type ChaosRow, type Scenario } from '../../bench/chaos/harness.js';
import { ChaosReplica } from '../../bench/chaos/replica.js';

/**
 * Fault kinds whose no-unexplained-miss guarantee holds today (docs/guarantees.md, open findings):
 * - kill: a SIGKILL mid-call leaves an orphaned lease (the core fix is in progress), and a replica
 *   restarted during an outage claims the latest due fire first, losing earlier ones;
 * - redis-restart: a new fire due during the catch-up after the recovery window is skipped behind a
 *   catch-up run;
 * - redis-pause and netcut: a run's lease release held back by the outage makes the next fire skip
 *   as an overlap, and a claim decided after its replica gave up leaves the fire unrecorded;
 * so only these hold.
 */
const HOLDING: readonly Scenario[] = ['skew', 'app-faults', 'config-change'];

function expectAccounted(row: ChaosRow): void {
  console.log(JSON.stringify({ ...row, unexplained: row.unexplained.slice(0, 20) }));
  expect({ duplicates: row.duplicates, overlaps: row.overlaps, unrecordedMisses: row.unrecordedMisses }).toEqual({ duplicates: 0, overlaps: 0, unrecordedMisses: 0 });
  // Every fire of the window is in exactly one class.
  expect(row.ranOnce + (row.duplicates - row.overlapTaskDuplicates) + row.explainedMisses + row.unrecordedMisses + row.overlapSkips + row.unexplainedMisses).toBe(row.expected);
}

describe('chaos (short runs of the fault-injection harness)', () => {
  it('three real replicas through kills, Redis restarts and pauses, network cuts, clock jumps, app faults and config edits: no duplicate, no overlap, every fire accounted for, every explained miss recorded', async () => {
    expect(ChaosReplica.fakeTimeAvailable()).toBe(true); // .ci/run installs faketime
    const faults = TOPOLOGY_FAULTS.single.filter((s) => s !== 'redis-pause-long');
    const row = await runChaos('ci-mix', faults, 60, 424_242);
    expectAccounted(row);
    expect(row.expected).toBeGreaterThan(150);
    // An unexplained miss is tolerated here only when a kind whose guarantee does not hold yet was
    // injected near it (from 20 s before the fire to its deadline).
    expect(row.unexplained.filter((miss) => miss.near.every((kind) => HOLDING.includes(kind as Scenario)))).toEqual([]);
  }, 150_000);

  it('clock jumps, app faults and config edits (the kinds that hold today): not a single unexplained miss', async () => {
    const row = await runChaos('ci-holding', HOLDING, 40, 424_243);
    expectAccounted(row);
    expect(row.expected).toBeGreaterThan(80);
    expect(row.unexplained).toEqual([]);
  }, 120_000);
});
