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

/**
 * The system clock as it read when the process started, advanced by the monotonic clock since. A
 * step of the system clock (an NTP correction, a VM resumed) does not move it: a store that measures
 * its offset to a server clock on this base keeps the server's time between two measurements.
 */
export const monotonicClock: Clock = { now: () => performance.timeOrigin + performance.now() };

/**
 * Calls `callback` once `signal` aborts; returns the unsubscribe. Thousands of sleeping claims and
 * runs wait on the same few signals, and an EventTarget listener is costly to add (Node checks for
 * duplicates, linear in the listeners already there): one listener per signal fans out to a Set.
 */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  let callbacks = waiting.get(signal);
  if (!callbacks) {
    const set = new Set<() => void>();
    callbacks = set;
    waiting.set(signal, set);
    signal.addEventListener('abort', () => [...set].forEach((cb) => cb()), { once: true });
  }
  callbacks.add(callback);
  return () => callbacks.delete(callback);
}
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

export const systemSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const unsubscribe = signal
      ? whenAborted(signal, () => {
          clearTimeout(timer);
          resolve();
        })
      : undefined;
    const timer = setTimeout(() => {
      unsubscribe?.();
      resolve();
    }, Math.max(0, ms));
  });

/** The longest delay a Node timer takes (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Waits for `promise`, but at most `ms` or until `signal` aborts; leaves no timer behind. */
export async function waitAtMost(promise: Promise<unknown>, ms: number, signal: AbortSignal, sleep: Sleep): Promise<void> {
  const waited = new AbortController();
  const unlink = whenAborted(signal, () => waited.abort());
  try {
    await Promise.race([promise, sleep(Math.min(MAX_TIMER_MS, ms), waited.signal)]);
  } finally {
    waited.abort('settled'); // with a reason: abort() without one builds a DOMException
    unlink();
  }
}

/** A clock that is `offsetMs` ahead of another one; used to simulate replicas with skewed clocks. */
export function skewedClock(offsetMs: number, base: Clock = systemClock): Clock {
  return { now: () => base.now() + offsetMs };
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Waiting past the timeout for a store that keeps answering other calls ends at this many timeouts. */
const MAX_PATIENCE = 10;

/**
 * Rejects if `call` has not settled within `timeoutMs`; a store call that hangs counts as failed.
 * With `lastAnswerAtMs` (when the store last answered anything, `performance.now()` ms), a call that
 * takes longer while the store keeps answering others is queued behind them, not lost: it is waited
 * for (up to MAX_PATIENCE timeouts), since sending it again would only lengthen the queue. It fails
 * once the store has said nothing for `timeoutMs`.
 */
export function withTimeout<T>(operation: string, timeoutMs: number, call: () => Promise<T>, lastAnswerAtMs?: () => number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const startedAt = performance.now();
    let timer: NodeJS.Timeout;
    const expire = (): void => {
      const now = performance.now();
      const silentMs = lastAnswerAtMs ? now - lastAnswerAtMs() : Number.POSITIVE_INFINITY;
      if (silentMs < timeoutMs && now - startedAt < timeoutMs * MAX_PATIENCE) {
        timer = setTimeout(expire, timeoutMs - silentMs);
        return;
      }
      reject(new Error(`store operation "${operation}" timed out after ${Math.round(now - startedAt)} ms`));
    };
    timer = setTimeout(expire, timeoutMs);
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      clearTimeout(timer);
      return reject(error);
    }
    pending.then(
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
