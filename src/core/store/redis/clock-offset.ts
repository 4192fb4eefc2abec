/**
 * Estimates local clock minus server clock from (send, receive, server time) samples, trusting the
 * sample with the shortest round trip among the recent ones: its midpoint is the least uncertain.
 */
export class ClockOffsetEstimator {
  private samples: Array<{ rttMs: number; offsetMs: number }> = [];
  private current = 0;

  constructor(private readonly window = 8) {}

  add(sentMs: number, receivedMs: number, serverMs: number): void {
    const rttMs = Math.max(0, receivedMs - sentMs);
    this.samples.push({ rttMs, offsetMs: (sentMs + receivedMs) / 2 - serverMs });
    if (this.samples.length > this.window) this.samples.shift();
    let best = this.samples[0]!;
    for (const s of this.samples) if (s.rttMs < best.rttMs) best = s;
    // A clock that jumped makes old samples wrong: follow the newest when it disagrees by far.
    const newest = this.samples[this.samples.length - 1]!;
    if (Math.abs(newest.offsetMs - best.offsetMs) > Math.max(250, newest.rttMs * 2)) {
      this.samples = [newest];
      best = newest;
    }
    this.current = Math.round(best.offsetMs);
  }

  get offsetMs(): number {
    return this.current;
  }
}
