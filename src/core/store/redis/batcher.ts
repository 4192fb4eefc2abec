/** A flush's result for one item that failed on its own: that item's call rejects with `error`. */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Gathers calls made in the same turn of the event loop into one batch, so that the fires that come
 * due together cost one Redis round trip instead of one each. A batch is flushed when full, or on
 * `setImmediate`: no call waits for a timer, so batching adds no latency.
 *
 * At most `maxInFlight` batches are sent at a time; the rest wait here. Redis runs scripts one at a
 * time anyway, so this costs no throughput, and when the replicas ask for more than Redis can do,
 * the queue stays in the replicas instead of in Redis, where it would hold back everyone's
 * heartbeats and announcements (which then look like dead replicas, whose fires others claim too).
 */
export class Batcher<Item, Result> {
  private pending: Array<{ item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }> = [];
  private scheduled = false;
  private inFlight = 0;

  /**
   * @param flush runs one batch and returns one result per item, in order (an ItemFailure fails that item alone)
   * @param maxBatch most items per flush, so that one Lua call cannot block Redis for long
   * @param maxInFlight most batches sent and not yet answered
   */
  constructor(
    private readonly flush: (items: Item[]) => Promise<Array<Result | ItemFailure>>,
    private readonly maxBatch: number,
    private readonly maxInFlight = Number.POSITIVE_INFINITY,
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.drain();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.drain();
        });
      }
    });
  }

  private drain(): void {
    while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      // A partial batch waits for the turn's end (the scheduled drain) to fill up, unless it is all there is.
      if (this.pending.length < this.maxBatch && this.scheduled) return;
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight++;
      this.flush(batch.map((entry) => entry.item))
        .then(
          (results) =>
            batch.forEach((entry, i) => {
              const result = results[i];
              if (result instanceof ItemFailure) entry.reject(result.error);
              else entry.resolve(result as Result);
            }),
          (error: unknown) => batch.forEach((entry) => entry.reject(error)),
        )
        .finally(() => {
          this.inFlight--;
          this.drain();
        });
    }
  }
}
