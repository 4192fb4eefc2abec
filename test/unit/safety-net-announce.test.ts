import { describe, expect, it } from 'vitest';
import { HomeReplicas } from '../../src/core/scheduler/home-replica.js';
import { SafetyNet } from '../../src/core/scheduler/safety-net.js';
import { MemoryTaskStore } from '../../src/core/store/memory-task-store.js';
import type { Progress } from '../../src/core/store/task-store.js';
import { systemSleep } from '../../src/core/time.js';
import { waitFor } from '../support/wait.js';

/** The in-memory store, keeping what this replica announced. */
class AnnouncedStore extends MemoryTaskStore {
  readonly announced: Progress[] = [];
  override async announceProgress(progress: Progress): Promise<void> {
    this.announced.push(progress);
  }
}

// The others trust a home's word only under the tasks they schedule themselves. After a reload, an
// idle home must say so at once: until it does, the others keep timers and claim its fires too.
describe("a home's announcements", () => {
  it('tells the others about new tasks at once, even with nothing new decided', async () => {
    const store = new AnnouncedStore();
    const home = new HomeReplicas('a');
    home.update(['a', 'b']);
    const net = new SafetyNet(store, home, 'a', systemSleep);
    try {
      net.tasksChanged('tasks-1');
      net.viewChanged(999);
      await waitFor(() => store.announced.length === 1, { timeoutMs: 2_000, what: 'the first announcement' });
      expect(store.announced[0]).toMatchObject({ instance: 'a', tasksDigest: 'tasks-1' });

      net.tasksChanged('tasks-2'); // a reload; no fire was dispatched or decided since
      await waitFor(() => store.announced.some((p) => p.tasksDigest === 'tasks-2'), { timeoutMs: 2_000, what: 'an announcement under the new tasks' });
      expect(store.announced.at(-1)).toMatchObject({ instance: 'a', tasksDigest: 'tasks-2', viewDigest: home.viewDigest });
    } finally {
      net.close();
    }
  });
});
