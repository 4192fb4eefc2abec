import { describe, expect, it } from 'vitest';
import { runChaos, SCENARIOS, TOPOLOGY_SCENARIOS } from '../../bench/chaos/harness.js';
import { ChaosReplica } from '../../bench/chaos/replica.js';

describe('chaos (a short mixed run of the fault-injection harness)', () => {
  it('three real replicas through kills, Redis restarts and pauses, network cuts, clock jumps, app faults and config edits: no duplicate, no unexplained miss, no overlap', async () => {
    expect(ChaosReplica.fakeTimeAvailable()).toBe(true); // .ci/run installs faketime
    const row = await runChaos('ci-mix', SCENARIOS.filter((s) => s !== 'redis-pause-long' && !TOPOLOGY_SCENARIOS.includes(s)), 60, 424_242);
    console.log(JSON.stringify(row));
    expect({ duplicates: row.duplicates, unexplainedMisses: row.unexplainedMisses, overlaps: row.overlaps }).toEqual({ duplicates: 0, unexplainedMisses: 0, overlaps: 0 });
    expect(row.expected).toBeGreaterThan(150);
    expect(row.ranOnce + row.explainedMisses).toBe(row.expected);
  }, 150_000);
});
