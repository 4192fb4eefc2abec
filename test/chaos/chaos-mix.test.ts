import { describe, expect, it } from 'vitest';
import { runChaos, SCENARIOS, TOPOLOGY_SCENARIOS } from '../../bench/chaos/harness.js';
import { ChaosReplica } from '../../bench/chaos/replica.js';

describe('chaos (a short mixed run of the fault-injection harness)', () => {
  it('three real replicas through kills, Redis restarts and pauses, network cuts, clock jumps, app faults and config edits: no duplicate, no overlap, every fire accounted for', async () => {
    expect(ChaosReplica.fakeTimeAvailable()).toBe(true); // .ci/run installs faketime
    const row = await runChaos('ci-mix', SCENARIOS.filter((s) => s !== 'redis-pause-long' && !TOPOLOGY_SCENARIOS.includes(s)), 60, 424_242);
    console.log(JSON.stringify(row));
    expect({ duplicates: row.duplicates, overlaps: row.overlaps }).toEqual({ duplicates: 0, overlaps: 0 });
    expect(row.expected).toBeGreaterThan(150);
    expect(row.ranOnce + row.explainedMisses + row.unexplainedMisses).toBe(row.expected);
    // Zero unexplained misses is not asserted yet: kills mid-call, the app's reset fault and one
    // miss right after a restart's recovery window are open findings of issue 5 (docs/guarantees.md).
  }, 150_000);
});
