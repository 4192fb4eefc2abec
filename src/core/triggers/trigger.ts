import { InvalidTriggerError } from '../errors.js';
import { CronSchedule } from './cron.js';
import { assertTimeZone } from './zoned-time.js';

/**
 * A trigger as published to every replica: absolute and serialisable, so every replica computes
 * the same fire times from it alone.
 */
export type TriggerSpec =
  | { kind: 'cron'; expression: string; timezone: string }
  | { kind: 'every'; everyMs: number; startAtMs: number; endAtMs?: number }
  | { kind: 'at'; atMs: number };

/**
 * What a caller registers. Delay forms ("in 30 s") are relative; they are anchored once, when the
 * definitions are published, and every replica adopts the published anchor.
 */
export type TriggerTemplate =
  | TriggerSpec
  | { kind: 'every'; everyMs: number; startDelayMs: number; endAtMs?: number }
  | { kind: 'at'; delayMs: number };

export interface Trigger {
  readonly spec: TriggerSpec;
  /** The first fire strictly after `afterMs`, or undefined when the schedule has ended. */
  next(afterMs: number): number | undefined;
  describe(): string;
}

export function anchorTrigger(template: TriggerTemplate, publishedAtMs: number): TriggerSpec {
  if (template.kind === 'at' && 'delayMs' in template) return { kind: 'at', atMs: publishedAtMs + template.delayMs };
  if (template.kind === 'every' && 'startDelayMs' in template) {
    const spec: TriggerSpec = { kind: 'every', everyMs: template.everyMs, startAtMs: publishedAtMs + template.startDelayMs };
    if (template.endAtMs !== undefined) spec.endAtMs = template.endAtMs;
    return spec;
  }
  return template as TriggerSpec;
}

export function compileTrigger(spec: TriggerSpec): Trigger {
  switch (spec.kind) {
    case 'cron':
      return cronTrigger(spec);
    case 'every':
      return everyTrigger(spec);
    case 'at':
      return atTrigger(spec);
  }
}

function cronTrigger(spec: Extract<TriggerSpec, { kind: 'cron' }>): Trigger {
  const schedule = new CronSchedule(spec.expression, spec.timezone);
  return {
    spec,
    next: (afterMs) => schedule.nextAfter(afterMs),
    describe: () => `cron "${spec.expression}" (${spec.timezone})`,
  };
}

function everyTrigger(spec: Extract<TriggerSpec, { kind: 'every' }>): Trigger {
  assertEvery(spec.everyMs, spec.startAtMs, spec.endAtMs);
  return {
    spec,
    next(afterMs) {
      const k = afterMs < spec.startAtMs ? 0 : Math.floor((afterMs - spec.startAtMs) / spec.everyMs) + 1;
      const fire = spec.startAtMs + k * spec.everyMs;
      return spec.endAtMs !== undefined && fire > spec.endAtMs ? undefined : fire;
    },
    describe: () => `every ${spec.everyMs} ms from ${new Date(spec.startAtMs).toISOString()}`,
  };
}

function atTrigger(spec: Extract<TriggerSpec, { kind: 'at' }>): Trigger {
  assertInstant(spec.atMs, 'at');
  return {
    spec,
    next: (afterMs) => (spec.atMs > afterMs ? spec.atMs : undefined),
    describe: () => `once at ${new Date(spec.atMs).toISOString()}`,
  };
}

function assertInstant(ms: number, what: string): void {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new InvalidTriggerError(`${what} must be a valid date`);
  }
}

function assertEvery(everyMs: number, startAtMs: number, endAtMs: number | undefined): void {
  if (!Number.isInteger(everyMs) || everyMs < 1) {
    throw new InvalidTriggerError(`every must be a whole number of milliseconds of at least 1 ms, got ${everyMs}`);
  }
  assertInstant(startAtMs, 'startAt');
  if (endAtMs !== undefined) {
    assertInstant(endAtMs, 'endAt');
    if (endAtMs < startAtMs) throw new InvalidTriggerError('endAt must not be before startAt');
  }
}

/** Validates a template as fully as can be done before it is anchored. */
export function validateTemplate(template: TriggerTemplate): void {
  if (template.kind === 'cron') {
    assertTimeZone(template.timezone);
    new CronSchedule(template.expression, template.timezone);
  } else {
    compileTrigger(anchorTrigger(template, 0));
  }
}
