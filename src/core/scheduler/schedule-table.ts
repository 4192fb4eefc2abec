import type { DefinitionSet, PublishedTask } from '../definitions.js';
import type { TaskHandler } from '../task.js';
import { compileTrigger, type Trigger } from '../triggers/trigger.js';
import type { FireQueue } from './fire-queue.js';
import type { ScheduledTask } from './scheduled-task.js';
import type { Logger } from './types.js';

/** A published task this replica cannot run, and why (its handler factory said so). */
export interface UnrunnableTask {
  published: PublishedTask;
  trigger: Trigger;
  reason: string;
}

/**
 * Brings this replica's timers in line with a definition set: tasks removed or changed (other
 * digest) lose their timers; new ones get a timer from the oldest fire that could still run
 * (inside its deadline, never before its definition). Tasks this replica cannot run are skipped:
 * it claims none of their fires, so the replicas that can run them do; each is logged once per
 * definition and kept in `unrunnable` for `tasks()` to show.
 */
export function reconcileSchedule(
  scheduled: Map<string, ScheduledTask>,
  unrunnable: Map<string, UnrunnableTask>,
  queue: FireQueue,
  set: DefinitionSet,
  nowMs: number,
  handlerOf: (published: PublishedTask) => TaskHandler | undefined,
  logger: Logger,
): void {
  const published = new Map(set.tasks.map((t) => [t.definition.name, t]));
  for (const [name, task] of unrunnable) if (published.get(name)?.digest !== task.published.digest) unrunnable.delete(name);
  for (const [name, task] of scheduled) {
    if (published.get(name)?.digest !== task.published.digest) {
      scheduled.delete(name);
      queue.delete(name);
    }
  }
  for (const [name, definition] of published) {
    if (scheduled.has(name) || unrunnable.has(name)) continue;
    let handler: TaskHandler | undefined;
    try {
      handler = handlerOf(definition);
    } catch (error) {
      const reason = (error as Error).message;
      unrunnable.set(name, { published: definition, trigger: compileTrigger(definition.definition.trigger), reason });
      logger.error('cannot run a published task on this replica', { task: name, error: reason });
      continue;
    }
    if (!handler) {
      logger.debug('task published by another replica has no handler here; not scheduling it', { task: name });
      continue;
    }
    const trigger = compileTrigger(definition.definition.trigger);
    scheduled.set(name, { published: definition, trigger, handler });
    const first = trigger.next(Math.max(nowMs - definition.definition.deadlineMs, definition.sinceMs) - 1);
    if (first !== undefined) queue.set(name, first);
  }
}
