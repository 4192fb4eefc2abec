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

/** The task is published, but this replica cannot run it (the others do); `reason` says why. */
export class TaskNotRunHereError extends TaskinoError {
  constructor(name: string, reason: string) {
    super('TASK_NOT_RUN_HERE', `task "${name}" is not run on this replica: ${reason}`);
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

/** A store answered something this version of taskino does not know how to read. */
export class StoreReplyError extends TaskinoError {
  constructor(operation: string, reply: unknown) {
    super('STORE_REPLY', `store operation "${operation}" answered ${JSON.stringify(reply).slice(0, 200)}, which this version of taskino cannot read`);
  }
}

/**
 * The store holds, for one task, state that taskino cannot read: a key of another type (another
 * program sharing the Redis, or junk written by hand) or a field it cannot parse. Only that task is
 * affected; fixing or deleting the key lets it run again.
 */
export class StoreStateError extends TaskinoError {
  readonly key: string;
  constructor(operation: string, key: string, reason: string) {
    super('STORE_BAD_STATE', `store operation "${operation}" cannot read ${key}: ${reason}; fix or delete that key (taskino recreates it)`);
    this.key = key;
  }
}
