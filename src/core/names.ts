import { InvalidOptionError } from './errors.js';

const TASK_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const SCHEDULER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

/** Task names end up in Redis keys, metric labels and HTTP headers, hence the narrow alphabet. */
export function assertTaskName(name: string): void {
  if (!TASK_NAME.test(name)) {
    throw new InvalidOptionError(
      `invalid task name "${name}": use 1-63 characters from a-z, 0-9, ".", "_" and "-", starting with a letter or digit`,
    );
  }
}

/** The scheduler name becomes a Redis Cluster hash tag, so braces and spaces are not allowed. */
export function assertSchedulerName(name: string): void {
  if (!SCHEDULER_NAME.test(name)) {
    throw new InvalidOptionError(
      `invalid scheduler name "${name}": use 1-63 characters from a-z, A-Z, 0-9, ".", "_" and "-"`,
    );
  }
}
