import type { Trigger } from '../triggers/trigger.js';

import { createHash } from 'node:crypto';

/** Bounds the work of catching up after a long suspension of a fast schedule. */
const MAX_STEPS = 100_000;

/**
 * The latest fire at or before `nowMs`, starting from `firstMs` (a fire of the trigger), and the fire
 * after it. Used when a replica wakes late: only the newest due fire is attempted.
 */
export function latestDue(trigger: Trigger, firstMs: number, nowMs: number): { fireMs: number; nextMs: number | undefined } {
  let fireMs = firstMs;
  let nextMs = trigger.next(fireMs);
  for (let steps = 0; nextMs !== undefined && nextMs <= nowMs && steps < MAX_STEPS; steps++) {
    fireMs = nextMs;
    nextMs = trigger.next(fireMs);
  }
  return { fireMs, nextMs };
}

/**
 * Fires strictly after `afterMs` and strictly before `beforeMs`: the ones nobody decided, i.e. missed.
 * Counts up to MAX_STEPS and keeps the latest `keep` of them.
 */
export function firesBetween(trigger: Trigger, afterMs: number, beforeMs: number, keep: number): { count: number; latest: number[] } {
  const latest: number[] = [];
  let count = 0;
  for (let fire = trigger.next(afterMs); fire !== undefined && fire < beforeMs && count < MAX_STEPS; fire = trigger.next(fire)) {
    count++;
    latest.push(fire);
    if (latest.length > keep) latest.shift();
  }
  return { count, latest };
}

/**
 * The jitter of one fire: a fraction of `jitterMs` derived from the task and the fire time, so
 * every replica waits the same, and always short of the next fire.
 */
export function jitterOf(task: string, fireMs: number, jitterMs: number, nextFireMs: number | undefined): number {
  if (jitterMs <= 0) return 0;
  const room = nextFireMs === undefined ? jitterMs : Math.min(jitterMs, nextFireMs - fireMs - 1);
  if (room <= 0) return 0;
  const fraction = createHash('sha1').update(`${task}@${fireMs}`).digest().readUInt32BE(0) / 2 ** 32;
  return Math.floor(fraction * room);
}
