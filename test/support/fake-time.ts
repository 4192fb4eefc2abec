import type { Clock, Sleep } from '../../src/index.js';

/** A clock and sleep the test moves by hand: a "suspended process" is one big advance(). */
export class FakeTime {
  nowMs: number;
  readonly requestedSleeps: number[] = [];
  private sleepers: Array<{ until: number; resolve: () => void }> = [];

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  readonly clock: Clock = { now: () => this.nowMs };

  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve) => {
      this.requestedSleeps.push(ms);
      if (signal?.aborted) return resolve();
      const sleeper = { until: this.nowMs + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve();
      }, { once: true });
    });

  /** Moves time forward and lets everything that was waiting for it run. */
  async advance(ms: number): Promise<void> {
    this.nowMs += ms;
    await this.settle();
  }

  async settle(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      const due = this.sleepers.filter((s) => s.until <= this.nowMs);
      this.sleepers = this.sleepers.filter((s) => s.until > this.nowMs);
      for (const s of due) s.resolve();
      await new Promise((r) => setImmediate(r));
    }
  }
}
