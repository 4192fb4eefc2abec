/**
 * Time is injected everywhere so tests can skew a replica's clock or drive timers without waiting.
 * All instants are milliseconds since the Unix epoch.
 */
export interface Clock {
  now(): number;
}

/** Resolves after `ms` milliseconds, or early (without rejecting) when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const systemClock: Clock = { now: () => Date.now() };

export const systemSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A clock that is `offsetMs` ahead of another one; used to simulate replicas with skewed clocks. */
export function skewedClock(offsetMs: number, base: Clock = systemClock): Clock {
  return { now: () => base.now() + offsetMs };
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Rejects if `call` has not settled within `timeoutMs`; a store call that hangs counts as failed. */
export function withTimeout<T>(operation: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`store operation "${operation}" timed out after ${timeoutMs} ms`)), timeoutMs);
    call().then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
