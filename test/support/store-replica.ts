import type { ClaimResult, RedisTaskStore } from '../../src/index.js';
import type { TaskDefinition } from '../../src/core/definitions.js';
import { delay } from './wait.js';

/**
 * A replica's heartbeat loop against the store alone, as the scheduler runs it (handing back its
 * since-time once the store has said it); `stop` is a SIGKILL: the loop just ends.
 */
export function beating(
  store: RedisTaskStore,
  instance: string,
  beat: { intervalMs: number; deadAfterMs: number; everyMs: number },
): { stop(): void } {
  let stopped = false;
  let sinceMs: number | undefined;
  void (async () => {
    while (!stopped) {
      const state = await store.sync({ instance, intervalMs: beat.intervalMs, deadAfterMs: beat.deadAfterMs, sinceMs }).catch(() => undefined);
      sinceMs ??= state?.members.find((m) => m.instance === instance)?.sinceMs;
      await delay(beat.everyMs);
    }
  })();
  return { stop: () => (stopped = true) };
}

/**
 * Publishes `task` alone through `store`; returns when it was published and a claim of one of its
 * fires by a given instance, with a token of its own per instance and fire (as a replica's retries).
 */
export async function publishOne(store: RedisTaskStore, task: TaskDefinition) {
  const { set } = await store.publish({ version: 1, contentDigest: 'c', anchorMs: store.now(), tasks: [task] });
  const { digest, sinceMs } = set.tasks[0]!;
  const claim = (by: RedisTaskStore, instance: string, scheduledMs: number, catchUp = false): Promise<ClaimResult> =>
    by.claim({
      task: task.name,
      digest,
      scheduledMs,
      deadlineMs: task.deadlineMs,
      overlap: task.overlap,
      leaseTtlMs: 60_000,
      token: `${instance}-${scheduledMs}`,
      instance,
      paused: false,
      catchUp,
    });
  return { sinceMs, claim };
}
