import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../support/redis-server.js';
import { runSoak } from '../support/soak.js';

let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  await server.stop();
});

describe('separate replica processes', () => {
  it('run every fire exactly once through a SIGKILLed replica and a Redis restart (ledger written by the tasks)', async () => {
    const report = await runSoak(server, {
      processes: 3,
      tasks: 10,
      everyMs: 1000,
      durationMs: 15_000,
      killAtMs: 4_000,
      replaceAtMs: 6_000,
      redisRestartAtMs: 9_000,
    });
    expect(report.expectedFires).toBeGreaterThanOrEqual(100);
    expect({ duplicates: report.duplicates, misses: report.misses }).toEqual({ duplicates: 0, misses: 0 });
    expect(report.ranOnce).toBe(report.expectedFires);
  }, 90_000);
});
