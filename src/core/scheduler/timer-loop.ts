import type { Sleep } from '../time.js';

/** Fires dispatched per turn of the event loop when many are due at once. */
const DISPATCH_SLICE = 200;
/** The reason the timer is woken early: any value will do, and a constant costs nothing. */
const TIMER_WOKEN = 'woken';

export interface TimerLoopDeps {
  now(): number;
  sleep: Sleep;
  /** Dispatches up to `max` due fires; true when more may be due. */
  dispatchDue(now: number, max: number): boolean;
  /** When the next fire is due, if any. */
  nextDueMs(): number | undefined;
  /** The longest sleep, in ms: bounds how late a clock jump is noticed. */
  maxSleepMs: number;
  stopping: AbortSignal;
}

/** The one timer of a scheduler: sleeps until the next due fire, or until woken by a change. */
export class TimerLoop {
  private wake = new AbortController();

  constructor(private readonly deps: TimerLoopDeps) {}

  /** With a reason given: abort() without one builds a DOMException, and unparked tasks wake the timer often. */
  wakeUp(): void {
    if (!this.wake.signal.aborted) this.wake.abort(TIMER_WOKEN);
  }

  async run(): Promise<void> {
    const { stopping, maxSleepMs } = this.deps;
    while (!stopping.aborted) {
      if (this.deps.dispatchDue(this.deps.now(), DISPATCH_SLICE)) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      const next = this.deps.nextDueMs();
      // Measured after dispatching: a burst of thousands of fires takes milliseconds, and sleeping
      // from the time before it would start every next burst that much late.
      const wait = next === undefined ? maxSleepMs : Math.min(maxSleepMs, Math.max(1, next - this.deps.now()));
      if (this.wake.signal.aborted) this.wake = new AbortController();
      if (stopping.aborted) return;
      await this.deps.sleep(wait, this.wake.signal);
    }
  }
}
