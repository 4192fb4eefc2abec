import type { PublishedTask } from '../definitions.js';
import type { TaskHandler } from '../task.js';
import type { Trigger } from '../triggers/trigger.js';
import { jitterOf } from './fire-math.js';

/** A task as this replica schedules it: the published definition plus the local handler. */
export interface ScheduledTask {
  published: PublishedTask;
  trigger: Trigger;
  handler: TaskHandler;
}

/** Past the deadline, a replica keeps asking this long so that queued claims cannot outlive it. */
export const GIVE_UP_MARGIN_MS = 2_000;

/** When the replicas stop asking for a fire: its deadline, plus the margin for queued claims. */
export function giveUpAtOf(task: ScheduledTask, fireMs: number): number {
  return fireMs + task.published.definition.deadlineMs + GIVE_UP_MARGIN_MS;
}

/** When a fire is due with its jitter: when its home claims it, and the earliest anyone does. */
export function turnOf(task: ScheduledTask, fireMs: number): number {
  const { name, jitterMs = 0 } = task.published.definition;
  return jitterMs > 0 ? fireMs + jitterOf(name, fireMs, jitterMs, task.trigger.next(fireMs)) : fireMs;
}
