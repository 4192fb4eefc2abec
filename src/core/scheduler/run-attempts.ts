import { AsyncLocalStorage } from 'node:async_hooks';
import { TaskTimeoutError } from '../errors.js';
import type { FireTrigger, TaskHandler } from '../task.js';
import { whenAborted, type Sleep } from '../time.js';

/** Marks code running inside a task, so `stop()` called from a task does not wait for that task. */
export const currentRun = new AsyncLocalStorage<object>();

export interface AttemptPlan {
  task: string;
  handler: TaskHandler;
  scheduledMs: number;
  trigger: FireTrigger;
  /** Sent with every attempt: the fire's identity, or a manual run's own. */
  idempotencyKey: string;
  replica: string;
  timeoutMs: number;
  retries: number;
  /** A retry must start by this instant (the fire's deadline). */
  lastStartMs: number;
  now: () => number;
  sleep: Sleep;
  /** Aborts every attempt when the scheduler shuts down. */
  shutdown: AbortSignal;
  /** Marks the handler's async context as this run (so stop() from inside it can tell); undefined: do not. */
  runIdentity: object | undefined;
}

export interface AttemptsResult {
  outcome: 'success' | 'failure' | 'timeout';
  attempts: number;
  error?: Error;
  /** An HTTP-like status reported by the handler's result or error, if any. */
  status?: number;
}

const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 5_000;

export async function runAttempts(plan: AttemptPlan): Promise<AttemptsResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await runOnce(plan, attempt);
    if (result.outcome === 'success' || attempt > plan.retries || plan.shutdown.aborted) return result;
    const backoff = Math.min(BACKOFF_BASE_MS * 2 ** (attempt - 1), BACKOFF_MAX_MS) * (0.5 + Math.random() / 2);
    if (plan.now() + backoff > plan.lastStartMs) return result;
    await plan.sleep(backoff, plan.shutdown);
    if (plan.shutdown.aborted) return result;
  }
}

type Settled = { value: unknown } | { error: unknown } | 'timeout' | 'shutdown';

/**
 * One attempt: the handler's outcome, or its timeout, or the end of the shutdown grace, whichever
 * comes first. Written with a single promise rather than a race of several: at thousands of runs a
 * second, every promise counts.
 */
async function runOnce(plan: AttemptPlan, attempt: number): Promise<AttemptsResult> {
  const signal = new LazySignal();
  let timer: NodeJS.Timeout | undefined;
  let unwatch: (() => void) | undefined;
  let call: Promise<unknown> | undefined;
  const scheduledAt = new Date(plan.scheduledMs);
  const context = {
    task: plan.task,
    scheduledAt,
    attempt,
    trigger: plan.trigger,
    idempotencyKey: plan.idempotencyKey,
    replica: plan.replica,
    get signal(): AbortSignal {
      return signal.get();
    },
  };
  const settled = await new Promise<Settled>((settle) => {
    const onShutdown = (): void => {
      signal.abort(plan.shutdown.reason);
      settle('shutdown');
    };
    if (plan.shutdown.aborted) return onShutdown();
    unwatch = whenAborted(plan.shutdown, onShutdown);
    if (plan.timeoutMs > 0) {
      timer = setTimeout(() => {
        signal.abort(new TaskTimeoutError(plan.task, plan.timeoutMs));
        settle('timeout');
      }, plan.timeoutMs);
    }
    const identity = plan.runIdentity;
    call = identity ? currentRun.run(identity, async () => plan.handler(context)) : (async () => plan.handler(context))();
    call.then(
      (value) => settle({ value }),
      (error: unknown) => settle({ error }),
    );
  });
  if (timer) clearTimeout(timer);
  unwatch?.();
  if (settled === 'timeout' || settled === 'shutdown') {
    call?.catch(() => {}); // the handler was told to abort; its late failure is not news
    const error = settled === 'timeout' ? new TaskTimeoutError(plan.task, plan.timeoutMs) : new Error(`task "${plan.task}" was stopped: the shutdown grace period ended`);
    return { outcome: settled === 'timeout' ? 'timeout' : 'failure', attempts: attempt, error };
  }
  if ('error' in settled) {
    const err = settled.error instanceof Error ? settled.error : new Error(String(settled.error));
    const status = statusOf(settled.error);
    const result: AttemptsResult = { outcome: 'failure', attempts: attempt, error: err };
    if (status !== undefined) result.status = status;
    return result;
  }
  const status = statusOf(settled.value);
  return status === undefined ? { outcome: 'success', attempts: attempt } : { outcome: 'success', attempts: attempt, status };
}

/**
 * A run's abort signal, made only when the handler reads it: most handlers never do, and an
 * AbortController per run was a measurable share of a fire's CPU and allocations at 10,000 fires/s.
 */
class LazySignal {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  get(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

function statusOf(value: unknown): number | undefined {
  if (value !== null && typeof value === 'object' && 'status' in value) {
    const status = (value as { status: unknown }).status;
    if (typeof status === 'number') return status;
  }
  return undefined;
}
