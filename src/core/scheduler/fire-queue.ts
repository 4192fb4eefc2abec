/**
 * The next fire of every scheduled task, ordered by when to act on it: one timer serves all tasks.
 * Entries are replaced, not removed: a task's newer entry makes its older ones stale.
 */
interface Entry {
  /** When the fire is due. */
  atMs: number;
  /** When to dispatch it: at `atMs`, or later for a replica that is not the task's home. */
  wakeMs: number;
  task: string;
  stamp: number;
}

export class FireQueue {
  private heap: Entry[] = [];
  private readonly current = new Map<string, number>();
  private stamps = 0;

  /** Schedules `task`'s fire due at `atMs` to be dispatched at `wakeMs`, replacing any earlier schedule of it. */
  set(task: string, atMs: number, wakeMs = atMs): void {
    const stamp = ++this.stamps;
    this.current.set(task, stamp);
    this.push({ atMs, wakeMs, task, stamp });
  }

  has(task: string): boolean {
    return this.current.has(task);
  }

  delete(task: string): void {
    this.current.delete(task);
  }

  /** When the earliest live entry is to be dispatched. */
  peekTime(): number | undefined {
    this.dropStale();
    return this.heap[0]?.wakeMs;
  }

  /** Removes and returns the live entries to be dispatched at or before `nowMs`, at most `max` of them. */
  popDue(nowMs: number, max = Number.POSITIVE_INFINITY): Array<{ task: string; atMs: number; wakeMs: number }> {
    const due: Array<{ task: string; atMs: number; wakeMs: number }> = [];
    while (due.length < max) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.wakeMs > nowMs) return due;
      this.pop();
      this.current.delete(top.task);
      due.push({ task: top.task, atMs: top.atMs, wakeMs: top.wakeMs });
    }
    return due;
  }

  /** Recomputes when to dispatch every entry (the replicas' places in line changed). */
  restagger(wakeOf: (task: string, atMs: number) => number): void {
    const live = this.heap.filter((entry) => this.current.get(entry.task) === entry.stamp);
    this.heap = [];
    for (const entry of live) this.push({ ...entry, wakeMs: wakeOf(entry.task, entry.atMs) });
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
      if (heap[parent]!.wakeMs <= entry.wakeMs) break;
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
      const child = right < heap.length && heap[right]!.wakeMs < heap[left]!.wakeMs ? right : left;
      if (heap[child]!.wakeMs >= last.wakeMs) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
