import { describe, expect, it } from 'vitest';
import { runChaos, TOPOLOGY_FAULTS, type ChaosRow } from '../../bench/chaos/harness.js';
import { ChaosReplica } from '../../bench/chaos/replica.js';

function expectAccounted(row: ChaosRow): void {
  console.log(JSON.stringify({ ...row, unexplained: row.unexplained.slice(0, 20) }));
  expect({ duplicates: row.duplicates, overlaps: row.overlaps, unrecordedMisses: row.unrecordedMisses }).toEqual({ duplicates: 0, overlaps: 0, unrecordedMisses: 0 });
  // Every fire of the window is in exactly one class.
  expect(row.ranOnce + (row.duplicates - row.overlapTaskDuplicates) + row.explainedMisses + row.unrecordedMisses + row.overlapSkips + row.unexplainedMisses).toBe(row.expected);
}

describe('chaos (short runs of the fault-injection harness)', () => {
  it('three real replicas through kills, Redis restarts and pauses, network cuts, clock jumps, app faults and config edits: no duplicate, no overlap, no unexplained miss, every explained miss recorded', async () => {
    expect(ChaosReplica.fakeTimeAvailable()).toBe(true); // .ci/run installs faketime
    const faults = TOPOLOGY_FAULTS.single.filter((s) => s !== 'redis-pause-long');
    const row = await runChaos('ci-mix', faults, 60, 424_242);
    expectAccounted(row);
    expect(row.expected).toBeGreaterThan(150);
    expect(row.unexplained).toEqual([]);
  }, 150_000);

  it('Redis Cluster with slot migrations and kills: every fire once, none unexplained', async () => {
    const row = await runChaos('ci-cluster', ['cluster-migration', 'kill'], 40, 424_243);
    expectAccounted(row);
    expect(row.expected).toBeGreaterThan(80);
    expect(row.unexplained).toEqual([]);
  }, 150_000);
});
