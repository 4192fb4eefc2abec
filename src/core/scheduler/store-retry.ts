import { withTimeout, type Sleep } from '../time.js';
import type { ListenerHub } from './listener-hub.js';
import type { Logger } from './types.js';

export interface StoreRetryDeps {
  sleep: Sleep;
  hub: ListenerHub;
  logger: Logger;
  storeTimeoutMs: number;
  stopping: AbortSignal;
}

/**
 * For the steps that cannot be skipped (publishing at start, a manual trigger): asks the store until
 * it answers, backing off up to 5 s; undefined once the scheduler stops.
 */
export async function retryUntilStopped<T>(deps: StoreRetryDeps, operation: string, call: () => Promise<T>): Promise<T | undefined> {
  let backoffMs = 100;
  while (!deps.stopping.aborted) {
    try {
      return await withTimeout(operation, deps.storeTimeoutMs * 2, call);
    } catch (error) {
      deps.hub.emit('onStoreError', operation, error as Error);
      deps.logger.warn(`store unavailable during ${operation}; retrying`, { error: (error as Error).message });
      await deps.sleep(backoffMs, deps.stopping);
      backoffMs = Math.min(backoffMs * 2, 5_000);
    }
  }
  return undefined;
}
