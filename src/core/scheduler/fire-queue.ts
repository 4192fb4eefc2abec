/**
 * The next fire of every scheduled task, ordered by time: one timer serves all tasks.
 * Entries are replaced, not removed: a task's newer entry makes its older ones stale.
 */
interface Entry {
  atMs: number;
  task: string;
  stamp: number;
}

export class FireQueue {
  private heap: Entry[] = [];
  private readonly current = new Map<string, number>();
  private stamps = 0;

  /** Schedules `task` at `atMs`, replacing any earlier schedule of it. */
  set(task: string, atMs: number): void {
    const stamp = ++this.stamps;
    this.current.set(task, stamp);
    this.push({ atMs, task, stamp });
  }

  delete(task: string): void {
    this.current.delete(task);
  }

  /** Time of the earliest live entry. */
  peekTime(): number | undefined {
    this.dropStale();
    return this.heap[0]?.atMs;
  }

  /** Removes and returns every live entry due at or before `nowMs`. */
  popDue(nowMs: number): Array<{ task: string; atMs: number }> {
    const due: Array<{ task: string; atMs: number }> = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.atMs > nowMs) return due;
      this.pop();
      this.current.delete(top.task);
      due.push({ task: top.task, atMs: top.atMs });
    }
  }

  get size(): number {
    return this.current.size;
  }

  private dropStale(): void {
    let top = this.heap[0];
    while (top && this.current.get(top.task) !== top.stamp) {
      this.pop();
      top = this.heap[0];
    }
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.atMs <= entry.atMs) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.atMs < heap[left]!.atMs ? right : left;
      if (heap[child]!.atMs >= last.atMs) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
