import type { Trigger } from '../triggers/trigger.js';

import { createHash } from 'node:crypto';

/** Bounds the work of catching up after a long suspension of a fast schedule. */
const MAX_STEPS = 100_000;

/**
 * The fires due at or before `nowMs`, starting from `firstMs` (a fire of the trigger), that are not
 * older than `oldestMs` (the latest due one always counts), at most `limit` of them (the latest),
 * oldest first; and the fire after them. Used when a replica wakes late or has just started.
 */
export function dueFires(
  trigger: Trigger,
  firstMs: number,
  nowMs: number,
  oldestMs: number,
  limit: number,
): { fires: number[]; nextMs: number | undefined } {
  const fires = [firstMs];
  let nextMs = trigger.next(firstMs);
  for (let steps = 0; nextMs !== undefined && nextMs <= nowMs && steps < MAX_STEPS; steps++) {
    fires.push(nextMs);
    if (fires.length > limit) fires.shift();
    nextMs = trigger.next(nextMs);
  }
  let from = 0;
  while (from < fires.length - 1 && (fires[from] ?? 0) < oldestMs) from++;
  return { fires: fires.slice(from), nextMs };
}

/**
 * Fires strictly after `afterMs` and strictly before `beforeMs` (those `where` accepts, if given):
 * e.g. the ones nobody decided. Walks up to MAX_STEPS fires and keeps the latest `keep` counted.
 */
export function firesBetween(
  trigger: Trigger,
  afterMs: number,
  beforeMs: number,
  keep: number,
  where: (fireMs: number) => boolean = () => true,
): { count: number; latest: number[] } {
  const latest: number[] = [];
  let count = 0;
  let steps = 0;
  for (let fire = trigger.next(afterMs); fire !== undefined && fire < beforeMs && steps < MAX_STEPS; fire = trigger.next(fire), steps++) {
    if (!where(fire)) continue;
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
