import { InvalidTriggerError } from '../errors.js';
import { validateTemplate, type TriggerTemplate } from './trigger.js';

function seconds(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidTriggerError(`${what} must be a number of seconds >= 0, got ${value}`);
  }
  return Math.round(value * 1000);
}

function checked(template: TriggerTemplate): TriggerTemplate {
  validateTemplate(template);
  return template;
}

/**
 * The helpers of the original library. Durations are in seconds, as there; every helper
 * validates at once, so an invalid trigger fails at register time, never at fire time.
 */
export const Triggers = {
  /** Once, at a fixed instant. */
  onceOf(date: Date): TriggerTemplate {
    return checked({ kind: 'at', atMs: date.getTime() });
  },
  /** Once, `delaySeconds` after the definitions are first published (the same instant on every replica). */
  onceOfDelay(delaySeconds: number): TriggerTemplate {
    return checked({ kind: 'at', delayMs: seconds(delaySeconds, 'delay') });
  },
  /** Every `periodSeconds` from `start` until `end` (inclusive). */
  periodOf(start: Date, end: Date | undefined, periodSeconds: number): TriggerTemplate {
    const template: TriggerTemplate = { kind: 'every', everyMs: seconds(periodSeconds, 'period'), startAtMs: start.getTime() };
    if (end) template.endAtMs = end.getTime();
    return checked(template);
  },
  /** Every `periodSeconds`, starting `delaySeconds` after the definitions are first published. */
  periodOfDelay(delaySeconds: number, periodSeconds: number): TriggerTemplate {
    return checked({ kind: 'every', everyMs: seconds(periodSeconds, 'period'), startDelayMs: seconds(delaySeconds, 'delay') });
  },
  /** A cron expression with 5 fields, or 6 with seconds first, evaluated in an IANA time zone (default UTC). */
  cronOf(expression: string, options: { timezone?: string } = {}): TriggerTemplate {
    return checked({ kind: 'cron', expression, timezone: options.timezone ?? 'UTC' });
  },
};
