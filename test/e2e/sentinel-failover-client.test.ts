import { describe, expect, it } from 'vitest';
import { createRedisClient, parseRedisUrl } from '../../src/sidecar/runtime/redis-url.js';
import { SentinelSetup } from '../support/redis-topologies.js';
import { waitFor } from '../support/wait.js';

// Regression (found by the chaos harness, issue 5): after a forced Sentinel failover the sidecar's
// client stayed on the old primary, which went on accepting writes for ~10 s (until Sentinel
// demoted it) and then discarded them in its resync: claims and history written there were lost,
// the watermark went back ~10 s and the next claim recorded fires that had run as missed.
describe('the Sentinel client (--redis redis+sentinel://)', () => {
  it('follows a forced failover to the new primary within a couple of seconds', async () => {
    const sentinel = await SentinelSetup.start();
    const redis = createRedisClient(parseRedisUrl(sentinel.url), () => 100);
    redis.on('error', () => {});
    const connectedPort = async (): Promise<number | undefined> => {
      const reply = (await redis.config('GET', 'port').catch(() => undefined)) as string[] | undefined;
      return reply ? Number(reply[1]) : undefined;
    };
    try {
      const before = await sentinel.primaryPort();
      expect(await connectedPort()).toBe(before);
      await sentinel.failover();
      const after = await sentinel.primaryPort();
      expect(after).not.toBe(before);
      await waitFor(async () => (await connectedPort()) === after, { timeoutMs: 3_000, intervalMs: 100, what: `the client to move from ${before} to the new primary ${after}` });
    } finally {
      redis.disconnect();
      await sentinel.stop();
    }
  }, 60_000);
});
