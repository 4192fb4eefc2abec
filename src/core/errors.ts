/**
 * Every error taskino raises on purpose carries a stable `code`, so callers (and the CLI's exit
 * codes) can branch on it without parsing messages. Messages say what was wrong and what is allowed.
 */
export class TaskinoError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A cron expression, zone, period or date that cannot describe a schedule. */
export class InvalidTriggerError extends TaskinoError {
  constructor(message: string) {
    super('INVALID_TRIGGER', message);
  }
}

/** An option or name given to the library that is outside what is allowed. */
export class InvalidOptionError extends TaskinoError {
  constructor(message: string) {
    super('INVALID_OPTION', message);
  }
}

export class DuplicateTaskError extends TaskinoError {
  constructor(name: string) {
    super('DUPLICATE_TASK', `task "${name}" is already registered; task names must be unique`);
  }
}

export class UnknownTaskError extends TaskinoError {
  constructor(name: string) {
    super('UNKNOWN_TASK', `no task named "${name}" is scheduled here`);
  }
}

export class SchedulerStateError extends TaskinoError {
  constructor(message: string) {
    super('SCHEDULER_STATE', message);
  }
}

/** A store operation that did not answer in time or failed at the transport level. */
export class StoreUnavailableError extends TaskinoError {
  constructor(operation: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('STORE_UNAVAILABLE', `store operation "${operation}" failed: ${reason}`, { cause });
  }
}

/** A task run that exceeded its per-attempt timeout. */
export class TaskTimeoutError extends TaskinoError {
  constructor(task: string, timeoutMs: number) {
    super('TASK_TIMEOUT', `task "${task}" did not finish within its timeout of ${timeoutMs} ms`);
  }
}

/**
 * A claim was not acknowledged by the Redis replicas and the server turned out not to be the
 * primary any more (a failover replaced it; its writes will be discarded). The claim is retried.
 */
export class UnacknowledgedClaimError extends TaskinoError {
  constructor(acked: number, wanted: number, reason = 'this Redis is no longer the primary') {
    super(
      'UNACKNOWLEDGED_CLAIM',
      `a claim was acknowledged by ${acked} of the ${wanted} Redis replicas required, and ${reason}; the claim is retried on the new primary`,
    );
  }
}
