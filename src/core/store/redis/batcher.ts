/**
 * Gathers calls made in the same turn of the event loop into one batch, so that the fires that come
 * due together cost one Redis round trip instead of one each. A batch is flushed when full, or on
 * `setImmediate`: no call waits for a timer, so batching adds no latency.
 */
export class Batcher<Item, Result> {
  private pending: Array<{ item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }> = [];
  private scheduled = false;

  /**
   * @param flush runs one batch and returns one result per item, in order
   * @param maxBatch most items per flush, so that one Lua call cannot block Redis for long
   */
  constructor(
    private readonly flush: (items: Item[]) => Promise<Result[]>,
    private readonly maxBatch: number,
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
    const all = this.pending;
    this.pending = [];
    for (let start = 0; start < all.length; start += this.maxBatch) {
      const batch = all.slice(start, start + this.maxBatch);
      this.flush(batch.map((entry) => entry.item)).then(
        (results) => batch.forEach((entry, i) => entry.resolve(results[i] as Result)),
        (error: unknown) => batch.forEach((entry) => entry.reject(error)),
      );
    }
  }
}
